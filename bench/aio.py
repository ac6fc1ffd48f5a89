"""What every load process shares: its event loop and its one result line.

Each load client is its own process, so its CPU never runs inside the harness; it
prints one ``BENCH_JSON {...}`` line at the end, which ``result_line`` reads back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
PREFIX = "BENCH_JSON "
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def require_loopback(host: str, load: str) -> None:
    """Load tests only ever target this machine's loopback."""
    if host not in LOOPBACK:
        raise SystemExit(f"the {load} load only targets loopback")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def print_result(result: dict[str, Any]) -> None:
    print(PREFIX + json.dumps(result), flush=True)


def result_line(output: str) -> dict[str, Any] | None:
    """The last ``BENCH_JSON`` line a load process printed, or None."""
    for line in reversed(output.splitlines()):
        if line.startswith(PREFIX):
            parsed: dict[str, Any] = json.loads(line[len(PREFIX) :])
            return parsed
    return None
