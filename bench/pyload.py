"""Fallback load generator for when wrk is missing, run as its own process.

asyncio (uvloop when importable) with N keep-alive connections, each sending the
same POST back to back for a fixed duration. Prints the same `BENCH_JSON {...}`
line as bench/wrk/post.lua.

Accuracy limits: one Python process tops out around 10-20k req/s on one core and
competes for the CPU with the target; latencies include event-loop scheduling
(tens of microseconds), so sub-0.1 ms differences are noise.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from bench import aio
from bench.http1 import build_request, parse_head, parse_header_args
from bench.ids import ID_HEADER
from bench.stats import percentile


class Counters:
    def __init__(self) -> None:
        self.latencies_us: list[float] = []
        self.non2xx = 0
        self.bytes = 0
        self.errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
        self.ids: list[str] = []
        """The Helicone-Id of every 2xx answer (bench/ids.py)."""


async def read_response(reader: asyncio.StreamReader) -> tuple[int, int, bool, str | None]:
    head = parse_head((await reader.readuntil(b"\r\n\r\n"))[:-4])
    request_id = head.headers.get(ID_HEADER)
    size = 0
    if head.chunked:
        while True:
            line = await reader.readuntil(b"\r\n")
            n = int(line.split(b";", 1)[0], 16)
            size += len(await reader.readexactly(n + 2))
            if n == 0:
                break
    elif head.content_length is not None:
        size = len(await reader.readexactly(head.content_length))
    else:
        size = len(await reader.read())
        return head.status, size, False, request_id
    return head.status, size, head.keep_alive, request_id


async def _connection(
    host: str, port: int, raw: bytes, deadline: float, timeout: float, c: Counters
) -> None:
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.monotonic() < deadline:
        if writer is None:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port), timeout
                )
            except (OSError, TimeoutError):
                c.errors["connect"] += 1
                await asyncio.sleep(0.01)
                continue
        assert reader is not None
        start = time.perf_counter()
        try:
            writer.write(raw)
            status, size, keep_alive, request_id = await asyncio.wait_for(
                read_response(reader), timeout
            )
        except TimeoutError:
            c.errors["timeout"] += 1
            keep_alive = False
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            c.errors["read"] += 1
            keep_alive = False
        else:
            c.latencies_us.append((time.perf_counter() - start) * 1e6)
            c.bytes += size
            if not 200 <= status <= 299:
                c.non2xx += 1
            elif request_id:
                c.ids.append(request_id)
        if not keep_alive:
            writer.close()
            writer = reader = None
    if writer is not None:
        writer.close()


async def run(args: argparse.Namespace) -> dict[str, object]:
    raw = build_request(
        args.host, args.port, args.path, parse_header_args(args.header), args.body_file.read_bytes()
    )
    c = Counters()
    start = time.monotonic()
    deadline = start + args.duration
    await asyncio.gather(
        *(
            _connection(args.host, args.port, raw, deadline, args.timeout, c)
            for _ in range(args.connections)
        )
    )
    duration = time.monotonic() - start
    if args.ids_file:
        Path(f"{args.ids_file}.ids").write_text("".join(f"{i}\n" for i in c.ids))
    lat = sorted(c.latencies_us)
    result: dict[str, object] = {
        "requests": len(lat),
        "duration_us": int(duration * 1e6),
        "bytes": c.bytes,
        "non2xx": c.non2xx,
        "socket_errors": c.errors,
        "mean_ms": (sum(lat) / len(lat) / 1000) if lat else None,
        "max_ms": (lat[-1] / 1000) if lat else None,
    }
    for p in (50, 90, 95, 99):
        result[f"p{p}_ms"] = percentile(lat, p) / 1000 if lat else None
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--body-file", type=Path, required=True)
    ap.add_argument("-H", "--header", action="append", default=[])
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--ids-file", help="write 2xx answers' Helicone-Id to <this>.ids")
    args = ap.parse_args(argv)
    aio.print_result(aio.run(run(args)))


if __name__ == "__main__":
    main()
