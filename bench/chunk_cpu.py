"""CPU per streamed chunk on the gateway's event loop, in-process, paired across trees.

``python -m bench.chunk_cpu`` measures the source on ``sys.path``;
``python -m bench.chunk_cpu --compare OLD_SRC NEW_SRC`` runs it for each tree in
alternation (same machine, same load), ``--rounds`` times, and prints the medians.

One measurement: an in-process gateway (logging on, SQLite) in front of the fake
provider (its own process, one event every ``--chunk-delay-ms``), ``--streams``
concurrent streamed chats at a time, driven by raw ASGI calls. The figure is the
event loop thread's CPU time (``thread_time``: the log writer's threads are not in
it) per chunk sent, taken as the slope between long and short streams, so that what
a request costs whatever its length (routing, the record, the upstream connection)
is left out.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvloop

SHORT_WORDS = 4
LONG_WORDS = 300
STAGES = {
    "Helicone-Retry-Enabled": "true",
    "Helicone-RateLimit-Policy": "100000000;w=3600;u=cents",
}
"""``--stages``: the stream-end work of retries and a rate limit by cost on every request."""


@contextlib.contextmanager
def _fake_provider(chunk_delay_ms: float) -> Iterator[str]:
    """The fake provider in its own process: its CPU and its GIL are not the gateway's."""
    command = [sys.executable, "-m", "relayscope.testing.fake_provider", "--port", "0"]
    command += ["--chunk-delay-ms", str(chunk_delay_ms)]
    fake = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None
        line = fake.stdout.readline()
        yield line.rsplit(" ", 1)[-1].strip()
    finally:
        fake.terminate()
        fake.wait(timeout=10)


async def _measure(
    streams: int, repeats: int, usage: bool, chunk_delay_ms: float, stages: bool
) -> dict[str, float]:
    import aiohttp
    import orjson

    from relayscope.config import Settings
    from relayscope.testing.inprocess import InProcessGateway

    with tempfile.TemporaryDirectory() as tmp, _fake_provider(chunk_delay_ms) as fake_url:
        env = {
            "RELAYSCOPE_OPENAI_BASE_URL": fake_url,
            "RELAYSCOPE_DATABASE_URL": f"sqlite:///{tmp}/relayscope.db",
            "RELAYSCOPE_LOG_FLUSH_INTERVAL": "0.05",
        }
        settings = Settings.from_env(env, data_dir=Path(tmp))
        async with InProcessGateway(settings, aiohttp.ThreadedResolver()) as gw:

            def body(words: int) -> bytes:
                text = " ".join(f"w{i}" for i in range(words))
                payload: dict[str, Any] = {
                    "model": "gpt-4o-mini",
                    "stream": True,
                    "messages": [{"role": "user", "content": text}],
                }
                if usage:
                    payload["stream_options"] = {"include_usage": True}
                return orjson.dumps(payload)

            headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}
            if stages:
                headers |= STAGES

            async def batch(words: int) -> tuple[float, int]:
                payload = body(words)
                cpu = time.thread_time()
                replies = await asyncio.gather(
                    *(
                        gw.call_chunks("/openai/v1/chat/completions", headers, payload)
                        for _ in range(streams)
                    )
                )
                cpu = time.thread_time() - cpu
                await gw.gateway.writer.drain(timeout=60)
                return cpu, sum(replies)

            await batch(SHORT_WORDS)  # warm-up: connections, caches, imports
            await batch(LONG_WORDS)
            gc.collect()
            slopes, per_chunk = [], []
            for _ in range(repeats):
                short_cpu, short_chunks = await batch(SHORT_WORDS)
                long_cpu, long_chunks = await batch(LONG_WORDS)
                slopes.append((long_cpu - short_cpu) / (long_chunks - short_chunks))
                per_chunk.append(long_cpu / long_chunks)
            return {
                "us_per_chunk": statistics.median(slopes) * 1e6,
                "us_per_chunk_all_in": statistics.median(per_chunk) * 1e6,
                "chunks_per_long_stream": long_chunks / streams,
            }


def _one(args: argparse.Namespace) -> None:
    import relayscope.testing.inprocess as inprocess

    _add_chunk_counting_call(inprocess)
    uvloop.install()  # the server's loop (``relayscope serve`` runs uvicorn on uvloop)
    result = asyncio.run(
        _measure(args.streams, args.repeats, args.usage, args.chunk_delay_ms, args.stages)
    )
    print(json.dumps(result))


def _add_chunk_counting_call(inprocess: Any) -> None:
    """``InProcessGateway.call_chunks``: one raw ASGI call, counting body messages only
    (the client keeps nothing, so its own cost stays out of the figure)."""

    async def call_chunks(self: Any, path: str, headers: dict[str, str], body: bytes) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [
                (k.lower().encode(), v.encode())
                for k, v in {"helicone-auth": self.auth, **headers}.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        count = 0

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop()
            await asyncio.Future()
            raise AssertionError("unreachable")

        async def send(message: Any) -> None:
            nonlocal count
            if message.get("more_body"):
                count += 1

        await self.gateway.proxy(scope, receive, send)
        return count

    inprocess.InProcessGateway.call_chunks = call_chunks


def _compare(args: argparse.Namespace) -> None:
    trees = {"old": args.compare[0], "new": args.compare[1]}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for round_ in range(args.rounds):
        order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for name in order:
            env = {**os.environ, "PYTHONPATH": f"{trees[name]}{os.pathsep}{Path.cwd()}"}
            command = [sys.executable, "-m", "bench.chunk_cpu", "--streams", str(args.streams)]
            command += [
                "--repeats",
                str(args.repeats),
                "--chunk-delay-ms",
                str(args.chunk_delay_ms),
            ]
            command += ["--usage"] if args.usage else []
            command += ["--stages"] if args.stages else []
            out = subprocess.run(command, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{name} ({trees[name]}) failed:\n{out.stderr}")
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(name, results[name][-1], file=sys.stderr)
    summary = {
        name: {
            key: round(statistics.median(r[key] for r in runs), 2)
            for key in ("us_per_chunk", "us_per_chunk_all_in", "chunks_per_long_stream")
        }
        for name, runs in results.items()
    }
    shape = {"usage_asked": args.usage, "stages": args.stages, "streams": args.streams}
    print(json.dumps({**shape, **summary}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--streams", type=int, default=50, help="concurrent streams per batch")
    ap.add_argument("--repeats", type=int, default=5, help="short/long batch pairs per run")
    ap.add_argument("--usage", action="store_true", help="the client asks for usage itself")
    ap.add_argument(
        "--stages", action="store_true", help="retries and a u=cents rate limit on each request"
    )
    ap.add_argument("--chunk-delay-ms", type=float, default=5.0, help="the upstream's pace")
    ap.add_argument("--compare", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    ap.add_argument("--rounds", type=int, default=4, help="runs per tree with --compare")
    args = ap.parse_args()
    if args.compare:
        _compare(args)
    else:
        _one(args)


if __name__ == "__main__":
    main()
