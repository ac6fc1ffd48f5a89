"""The streaming load of ``bench.streams``: N streamed chats opened at once.

Each stream is one connection on a raw asyncio protocol with httptools' response
parser (so the client costs little beside the gateway), timed from the moment it
starts connecting: to its first body byte (TTFT) and to the end of its response
(duration). It prints one ``BENCH_JSON`` line: the percentiles, the statuses, the
chunks read, and writes the id of every 2xx answer to ``--ids-file``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import cast

import httptools

from bench import aio
from bench.stats import percentile

ID_HEADERS = (b"helicone-id", b"x-request-id", b"x-portkey-trace-id")
"""Where each target names the answer (RelayScope's Helicone-Id first)."""


class Stream(asyncio.Protocol):
    """One streamed request on its own connection."""

    def __init__(self, request: bytes, started: float, done: asyncio.Future[None]) -> None:
        self.request = request
        self.started = started
        self.done = done
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.status = 0
        self.answer_id = ""
        self._id_rank = len(ID_HEADERS)
        self.first_at: float | None = None
        self.ended_at: float | None = None
        self.events = 0
        self.completed = False
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._finish()

    def on_header(self, name: bytes, value: bytes) -> None:
        rank = ID_HEADERS.index(name.lower()) if name.lower() in ID_HEADERS else None
        if rank is not None and value and rank < self._id_rank:
            self.answer_id, self._id_rank = value.decode("latin-1"), rank

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.first_at is None:
            self.first_at = time.perf_counter()
        # An event boundary split between two reads is counted once, on the second.
        joined = self._tail + body
        self.events += joined.count(b"\n\n") - self._tail.count(b"\n\n")
        self._tail = joined[-1:]
        if b"[DONE]" in body:
            self.completed = True

    def on_message_complete(self) -> None:
        self.ended_at = time.perf_counter()
        self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish()

    def _finish(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)


def request_bytes(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\nConnection: close\r\n\r\n").encode() + body


async def one(
    host: str, port: int, request: bytes, timeout: float
) -> tuple[Stream | None, str | None]:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    done: asyncio.Future[None] = loop.create_future()
    stream = Stream(request, started, done)
    try:
        await asyncio.wait_for(loop.create_connection(lambda: stream, host, port), timeout)
        await asyncio.wait_for(done, timeout - (time.perf_counter() - started))
    except TimeoutError:
        if stream.transport is not None:
            stream.transport.abort()
        return stream, "timeout"
    except OSError as exc:
        return None, exc.__class__.__name__
    return stream, None


async def run(args: argparse.Namespace) -> dict[str, object]:
    headers = json.loads(args.headers)
    body = json.dumps(
        {
            "model": "gpt-4o-mini",
            "stream": True,
            "messages": [{"role": "user", "content": "Tell me a story."}],
        }
    ).encode()
    request = request_bytes(args.host, args.port, args.path, headers, body)
    began = time.perf_counter()
    results = await asyncio.gather(
        *(one(args.host, args.port, request, args.timeout) for _ in range(args.streams))
    )
    wall = time.perf_counter() - began
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    ttft, duration, ids = [], [], []
    events = incomplete = 0
    for stream, error in results:
        if error is not None:
            errors[error] += 1
        if stream is None:
            continue
        if stream.status:
            statuses[str(stream.status)] += 1
        events += stream.events
        if 200 <= stream.status < 300 and error is None:
            if stream.answer_id:
                ids.append(stream.answer_id)
            if not stream.completed:
                incomplete += 1
            elif stream.first_at is not None and stream.ended_at is not None:
                ttft.append((stream.first_at - stream.started) * 1000)
                duration.append((stream.ended_at - stream.started) * 1000)
    if args.ids_file:
        Path(args.ids_file).write_text("".join(f"{i}\n" for i in ids))
    ttft.sort()
    duration.sort()

    def pct(values: list[float], p: float) -> float | None:
        return round(percentile(values, p), 2) if values else None

    return {
        "streams": args.streams,
        "completed": len(ttft),
        "statuses": dict(statuses),
        "errors": dict(errors),
        "incomplete": incomplete,
        "events": events,
        "wall_s": round(wall, 3),
        "ttft_p50_ms": pct(ttft, 50),
        "ttft_p99_ms": pct(ttft, 99),
        "duration_p50_ms": pct(duration, 50),
        "duration_p99_ms": pct(duration, 99),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/v1/chat/completions")
    ap.add_argument("--headers", default="{}", help="JSON object of request headers")
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds a stream may take")
    ap.add_argument("--ids-file", default="")
    args = ap.parse_args()
    aio.require_loopback(args.host, "streaming")
    aio.print_result(aio.run(run(args)))


if __name__ == "__main__":
    main()
