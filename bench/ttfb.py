"""Streaming time-to-first-byte client, run as its own process by the runner.

Sends N sequential streaming requests (chat completions, or Responses API calls) over
one keep-alive connection
(blocking socket, TCP_NODELAY) and times, per request, the first byte of the
response body (the first SSE event) and the end of the stream.
Prints one `BENCH_JSON {...}` line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bench.http1 import BlockingConnection, build_request, parse_header_args
from bench.ids import ID_HEADER
from bench.stats import percentile


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--body-file", type=Path, required=True)
    ap.add_argument("-H", "--header", action="append", default=[])
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--ids-file", help="write 2xx answers' Helicone-Id to <this>.ids")
    ap.add_argument(
        "--done-marker",
        default="[DONE]",
        help="bytes that end a complete stream (response.completed for the Responses API)",
    )
    args = ap.parse_args(argv)

    raw = build_request(
        args.host, args.port, args.path, parse_header_args(args.header), args.body_file.read_bytes()
    )
    conn = BlockingConnection(args.host, args.port)
    ttfb: list[float] = []
    total: list[float] = []
    sent = errors = incomplete = 0
    ids: list[str] = []
    deadline = time.monotonic() + args.max_seconds
    for i in range(args.warmup + args.requests):
        if time.monotonic() > deadline:
            break
        sent += 1
        try:
            r = conn.request(raw)
        except (OSError, ValueError, IndexError):
            errors += 1
            conn.close()
            continue
        if 200 <= r.status <= 299 and ID_HEADER in r.headers:
            ids.append(r.headers[ID_HEADER])
        if r.status != 200:
            errors += 1
        elif args.done_marker.encode() not in r.body:
            incomplete += 1
        elif i >= args.warmup:
            ttfb.append(r.ttfb_s * 1000)
            total.append(r.total_s * 1000)
    conn.close()
    if args.ids_file:
        Path(f"{args.ids_file}.ids").write_text("".join(f"{i}\n" for i in ids))
    ttfb.sort()
    total.sort()
    result = {
        "sent": sent,
        "measured": len(ttfb),
        "errors": errors,
        "incomplete": incomplete,
        **{f"ttfb_p{p}_ms": percentile(ttfb, p) if ttfb else None for p in (50, 95, 99)},
        **{f"total_p{p}_ms": percentile(total, p) if total else None for p in (50, 99)},
    }
    print("BENCH_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
