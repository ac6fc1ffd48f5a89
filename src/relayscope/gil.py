"""Log-writing threads that step aside for the event loop.

While a worker thread holds the GIL, the event loop waits up to the interpreter's
switch interval (0.5 ms here) each time it needs the GIL, several times a request;
measured in bench/, a log batch being built and written that way was the unloaded
P99. Worker loops call ``pause()`` once per item: after ``SLICE`` seconds of work
it releases the GIL, so the loop waits at most that long. When the writer falls
behind (``keep_up(False)``), the threads stop stepping aside: under saturation the
loop would otherwise keep the GIL and the backlog would only grow.
"""

from __future__ import annotations

import asyncio
import threading
import time

SLICE = 0.00005
_stepping_aside = True
_last = threading.local()


def keep_up(stepping_aside: bool) -> None:
    """Whether worker threads should step aside (the writer is keeping up)."""
    global _stepping_aside
    _stepping_aside = stepping_aside


def pause() -> None:
    """Release the GIL if this thread has held it for ``SLICE`` seconds.

    Does nothing on the event loop's own thread, where the rollups run on Postgres
    (SQLAlchemy's ``run_sync``): there is nobody to step aside for.
    """
    if not _stepping_aside:
        return
    now = time.perf_counter()
    if now - getattr(_last, "at", 0.0) >= SLICE:
        _last.at = now
        if _on_event_loop():
            return
        time.sleep(0)  # releases the GIL; a waiting event loop takes it first
        _last.at = time.perf_counter()


def _on_event_loop() -> bool:
    on_loop = getattr(_last, "on_loop", None)
    if on_loop is None:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        _last.on_loop = on_loop
    return on_loop
