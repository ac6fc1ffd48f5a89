"""The sustained bench's load process: open loop at fixed rates, varied traffic.

Run by `bench/sustained.py` as its own process (asyncio, uvloop when present, the
raw HTTP/1.1 reader of `bench/pyload.py`). The schedule is a list of steps
(seconds, rate); request *j* of a step is due at its start + j / rate, whatever
happened to earlier ones. A due request takes an idle keep-alive connection or
opens one, up to `--max-connections`; when every one is busy it is not sent and
counted as `not_sent` (a gateway that cannot keep up shows there, not as a
slower generator). Latency is measured from the due time, so a late send counts.

The traffic varies the way a store's indexes and FTS see it: models (a few
percent `error-429`/`error-500`, which the bench upstream answers with that
status), 5,000 users, 20,000 sessions, 50 feature values, unique prompt texts of
100 B to 16 KB, a share of streams. Every answer's `Helicone-Id` goes to
`<ids-dir>/sustained.ids` (one a line, `bench/ids.py`), whatever its status: the
gateway logs errors too. A final `BENCH_JSON {...}` line sums up each step.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench import aio
from bench.http1 import build_request
from bench.pyload import read_response
from bench.stats import percentile

MODELS = (
    ("gpt-4o-mini", 50),
    ("gpt-4o", 20),
    ("gpt-4.1-mini", 15),
    ("gpt-4.1-nano", 10),
    ("o3-mini", 5),
)
SYSTEM_PROMPTS = 20
"""Distinct system prompts, sent with a third of the requests (repeated text, as in use)."""


@dataclass(frozen=True)
class Mix:
    users: int = 5_000
    sessions: int = 20_000
    features: int = 50
    stream_share: float = 0.1
    error_share: float = 0.02


class Traffic:
    """Seeded request bodies and headers: the same run sends the same requests."""

    def __init__(self, host: str, port: int, key: str, mix: Mix, seed: int) -> None:
        self.host, self.port, self.key, self.mix = host, port, key, mix
        self.rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.vocabulary = [
            "".join(self.rng.choices(letters, k=self.rng.randint(3, 10))) for _ in range(4_000)
        ]
        self.systems = [self._words(60) for _ in range(SYSTEM_PROMPTS)]
        self.models = [m for m, _ in MODELS]
        self.weights = [w for _, w in MODELS]

    def _words(self, n: int) -> str:
        return " ".join(self.rng.choices(self.vocabulary, k=n))

    def _prompt_words(self) -> int:
        """Mostly short prompts, some long ones: ~100 B to ~16 KB of text."""
        roll = self.rng.random()
        if roll < 0.70:
            return self.rng.randint(15, 90)
        if roll < 0.95:
            return self.rng.randint(90, 600)
        return self.rng.randint(600, 2_300)

    def request(self, i: int) -> tuple[bytes, bool]:
        """The raw request ``i`` and whether it streams."""
        rng, mix = self.rng, self.mix
        model = rng.choices(self.models, self.weights)[0]
        if rng.random() < mix.error_share:
            model = rng.choice(("error-429", "error-500"))
        stream = rng.random() < mix.stream_share
        messages: list[dict[str, str]] = []
        if rng.random() < 1 / 3:
            messages.append({"role": "system", "content": rng.choice(self.systems)})
        text = f"request {i}: {self._words(self._prompt_words())}"
        messages.append({"role": "user", "content": text})
        payload: dict[str, Any] = {"model": model, "messages": messages}
        if stream:
            payload |= {"stream": True, "stream_options": {"include_usage": True}}
        headers = {
            "Content-Type": "application/json",
            "Authorization": "Bearer sk-bench",
            "Helicone-Auth": f"Bearer {self.key}",
            "Helicone-User-Id": f"user-{rng.randrange(mix.users)}",
            "Helicone-Session-Id": f"session-{rng.randrange(mix.sessions)}",
            "Helicone-Property-Feature": f"feature-{rng.randrange(mix.features)}",
            "Helicone-Property-Tier": rng.choice(("free", "pro", "enterprise")),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        path = "/openai/v1/chat/completions"
        return build_request(self.host, self.port, path, headers, body), stream


@dataclass
class StepFigures:
    seconds: float
    rate: float
    scheduled: int = 0
    sent: int = 0
    not_sent: int = 0
    ok: int = 0
    upstream_errors: int = 0
    other_status: int = 0
    failed: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    stale_retries: int = 0
    streams: int = 0
    latency_ms: array[float] = field(default_factory=lambda: array("f"))
    late_ms: array[float] = field(default_factory=lambda: array("f"))

    def fail(self, reason: str) -> None:
        self.failed += 1
        self.failures[reason] = self.failures.get(reason, 0) + 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latency_ms)
        late = sorted(self.late_ms)
        return {
            "seconds": self.seconds,
            "rate": self.rate,
            "scheduled": self.scheduled,
            "sent": self.sent,
            "not_sent": self.not_sent,
            "ok": self.ok,
            "upstream_errors": self.upstream_errors,
            "other_status": self.other_status,
            "failed": self.failed,
            "failures": self.failures,
            "stale_retries": self.stale_retries,
            "streams": self.streams,
            "answered_per_s": round((self.ok + self.upstream_errors) / self.seconds, 1),
            "p50_ms": round(percentile(lat, 50), 3) if lat else None,
            "p99_ms": round(percentile(lat, 99), 3) if lat else None,
            "late_p99_ms": round(percentile(late, 99), 3) if late else None,
        }


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class Connections:
    """Idle keep-alive connections, opened on demand up to a bound."""

    def __init__(self, host: str, port: int, limit: int) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: list[Conn] = []
        self.open = 0

    def full(self) -> bool:
        return not self.idle and self.open >= self.limit

    async def take(self, fresh: bool = False) -> Conn:
        if self.idle and not fresh:
            return self.idle.pop()
        self.open += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            self.open -= 1
            raise

    def give_back(self, conn: Conn) -> None:
        self.idle.append(conn)

    def drop(self, conn: Conn) -> None:
        self.open -= 1
        conn[1].close()

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for conn in idle:
            self.drop(conn)
        for _reader, writer in idle:
            await writer.wait_closed()


async def exchange(
    pool: Connections, raw: bytes, step: StepFigures, timeout: float
) -> tuple[Conn, tuple[int, int, bool, str | None]]:
    """Send ``raw`` and read the answer. A kept-alive connection the gateway closed
    while it sat idle (uvicorn's keep-alive timeout) answers nothing at all: the
    request never reached it, so it is sent once more on a new connection, as
    HTTP clients do, and counted in ``stale_retries``."""
    for attempt in (1, 2):
        reused = attempt == 1 and bool(pool.idle)
        conn = await pool.take(fresh=attempt == 2)
        try:
            conn[1].write(raw)
            return conn, await asyncio.wait_for(read_response(conn[0]), timeout)
        except asyncio.IncompleteReadError as exc:
            pool.drop(conn)
            if not (reused and not exc.partial and attempt == 1):
                where = "a reused" if reused else "a new"
                raise EOFError(f"cut after {len(exc.partial)} bytes on {where} connection") from exc
            step.stale_retries += 1
        except BaseException:
            pool.drop(conn)
            raise
    raise AssertionError("unreachable: the second attempt returns or raises")


async def send(
    pool: Connections, raw: bytes, step: StepFigures, due: float, ids: IO[str], timeout: float
) -> None:
    try:
        conn, (status, _size, keep_alive, request_id) = await exchange(pool, raw, step, timeout)
    except EOFError as exc:
        step.fail(str(exc))
        return
    except (OSError, TimeoutError, ValueError, IndexError) as exc:
        step.fail(type(exc).__name__)
        return
    step.latency_ms.append((time.monotonic() - due) * 1000)
    if request_id:
        ids.write(request_id + "\n")
    if 200 <= status < 300:
        step.ok += 1
    elif status in (429, 500):
        step.upstream_errors += 1
    else:
        step.other_status += 1
    if keep_alive:
        pool.give_back(conn)
    else:
        pool.drop(conn)


async def run(a: argparse.Namespace) -> dict[str, Any]:
    steps = [StepFigures(seconds, rate) for seconds, rate in parse_steps(a.steps)]
    traffic = Traffic(a.host, a.port, a.key, Mix(stream_share=a.stream_share), a.seed)
    pool = Connections(a.host, a.port, a.max_connections)
    in_flight: set[asyncio.Task[None]] = set()
    a.ids_dir.mkdir(parents=True, exist_ok=True)
    i = 0
    with (a.ids_dir / "sustained.ids").open("w") as ids:
        start = a.t0
        for step in steps:
            total = int(step.seconds * step.rate)
            for j in range(total):
                due = start + j / step.rate
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                raw, stream = traffic.request(i)
                i += 1
                step.scheduled += 1
                step.late_ms.append((time.monotonic() - due) * 1000)
                if pool.full():
                    step.not_sent += 1
                    continue
                step.sent += 1
                step.streams += stream
                task = asyncio.create_task(send(pool, raw, step, due, ids, a.request_timeout))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            start += step.seconds
        unfinished = 0
        if in_flight:
            _done, pending = await asyncio.wait(in_flight, timeout=a.request_timeout + 5)
            unfinished = len(pending)
            for task in pending:
                task.cancel()
        await pool.close()
    return {
        "steps": [s.summary() for s in steps],
        "unfinished": unfinished,
        "connections_opened": pool.open,
    }


def parse_steps(text: str) -> list[tuple[float, float]]:
    """``"20:500,20:1000"``: seconds:rate pairs."""
    steps = []
    for part in text.split(","):
        seconds, _, rate = part.partition(":")
        steps.append((float(seconds), float(rate)))
    return steps


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True, help="gateway key for Helicone-Auth")
    ap.add_argument("--steps", required=True, help="seconds:rate,... (e.g. 20:500,20:1000)")
    ap.add_argument("--t0", type=float, required=True, help="start, on time.monotonic()")
    ap.add_argument("--ids-dir", type=Path, required=True)
    ap.add_argument("--stream-share", type=float, default=0.1)
    ap.add_argument("--max-connections", type=int, default=256)
    ap.add_argument("--request-timeout", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=27)
    a = ap.parse_args(argv)
    aio.require_loopback(a.host, "sustained")
    aio.print_result(aio.run(run(a)))


if __name__ == "__main__":
    main()
