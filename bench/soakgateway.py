"""`python -m bench.soakgateway serve ...`: the `relayscope` CLI plus a memory sampler.

The soak runs the gateway through this so that live memory can be told apart from
memory the allocator merely keeps: a daemon thread in the serving process appends,
every `SOAK_MEMSTATS_INTERVAL` seconds, one JSON line to `SOAK_MEMSTATS` with

- glibc's `mallinfo2()` over all arenas: bytes in use (`uordblks + hblkhd`: native
  allocations such as SQLite's page caches and aiohttp buffers, and every Python
  object over 512 bytes) and bytes freed but kept (`fordblks`);
- pymalloc's allocated blocks (`sys.getallocatedblocks()`: Python objects of up to
  512 bytes, which live in pymalloc's own mmapped arenas);
- SQLite's own memory (`sqlite3_memory_used()`).

RSS only ever shows the high-water mark of these: freed memory mostly stays in the
process. Nothing in the gateway changes: same CLI, same process, one extra thread
waking up once a second.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import threading
import time
from collections.abc import Callable


def _sqlite_memory_used() -> Callable[[], int] | None:
    try:
        import _sqlite3

        fn = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError):
        return None
    fn.restype = ctypes.c_int64
    fn.argtypes = []
    return fn  # type: ignore[no-any-return]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):  # not glibc, or glibc < 2.33
        return None
    fn.restype = _MallInfo2
    fn.argtypes = []
    return fn  # type: ignore[no-any-return]


def _sample(path: str, interval: float) -> None:
    used = _sqlite_memory_used()
    mallinfo = _mallinfo2()
    with open(path, "a") as fh:
        while True:
            row: dict[str, float | int | None] = {
                "t": round(time.monotonic(), 3),
                "py_blocks": sys.getallocatedblocks(),
                "sqlite_bytes": used() if used is not None else None,
                "malloc_in_use": None,
                "malloc_free": None,
            }
            if mallinfo is not None:
                info = mallinfo()
                row["malloc_in_use"] = info.uordblks + info.hblkhd
                row["malloc_free"] = info.fordblks
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            time.sleep(interval)


def main() -> None:
    path = os.environ.get("SOAK_MEMSTATS")
    if path and sys.argv[1:2] == ["serve"]:
        interval = float(os.environ.get("SOAK_MEMSTATS_INTERVAL", "1"))
        threading.Thread(
            target=_sample, args=(path, interval), name="soak-memstats", daemon=True
        ).start()
    from relayscope.cli import main as relayscope_cli

    relayscope_cli(prog_name="relayscope")


if __name__ == "__main__":
    main()
