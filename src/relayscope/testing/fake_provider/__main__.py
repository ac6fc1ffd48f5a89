"""``python -m relayscope.testing.fake_provider``: serve the fake in the foreground.

Prints ``fake provider listening on http://HOST:PORT`` once the socket is listening
(useful with ``--port 0``), serves until SIGINT/SIGTERM, then exits with status 0.
Requests are not recorded in this mode; control faults with ``x-fake-*`` headers.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Sequence
from types import FrameType

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from .app import FakeProviderApp, RequestLog
from .server import bind_socket, uvicorn_config


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m relayscope.testing.fake_provider",
        description="Fake OpenAI/Anthropic upstream for tests and benchmarks.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument(
        "--chunk-delay-ms", type=float, default=0.0, help="pause between stream chunks"
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    sock = bind_socket(args.host, args.port)
    app = FakeProviderApp(RequestLog(record=False), chunk_delay_s=args.chunk_delay_ms / 1000)
    server = uvicorn.Server(
        uvicorn_config(app, log_config=LOGGING_CONFIG, log_level=args.log_level)
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"fake provider listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: exit 0 rather than die by it.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    with sock, contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


if __name__ == "__main__":
    main()
