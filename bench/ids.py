"""Losses counted by id: every 2xx answer's ``Helicone-Id`` must be in the store.

Counting rows against requests sent cannot tell a lost record from an extra one: a
request wrk abandoned in flight when its duration ended is still logged, so up to
one per connection could hide a loss. Instead each load client writes the id of
every 2xx answer it read to a file of its own (one id a line) under the run's ids
directory, and ``lost_by_id`` looks each one up in the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ID_HEADER = "helicone-id"


def read_answered(directory: Path) -> set[str]:
    """Every id the load clients were answered with (a 2xx), across their files."""
    answered: set[str] = set()
    for path in sorted(directory.glob("*.ids")):
        answered.update(line for line in path.read_text().split() if line)
    return answered


def lost_by_id(
    answered: set[str],
    stored_ids: Callable[[], set[str] | None],
    deadline_s: float,
    poll_s: float = 0.5,
) -> dict[str, Any]:
    """Wait (up to ``deadline_s``) until the store holds every answered id; report
    the ones it does not hold, and the stored ids no client was answered with."""
    start = time.monotonic()
    stored: set[str] = set()
    while True:
        now_stored = stored_ids()
        if now_stored is not None:
            stored = now_stored
            if answered <= stored:
                break
        if time.monotonic() - start >= deadline_s:
            break
        time.sleep(poll_s)
    missing = answered - stored
    return {
        "answered_2xx": len(answered),
        "lost": len(missing),
        "lost_ids": sorted(missing)[:20],
        "unanswered_stored": len(stored - answered),
        "id_wait_s": round(time.monotonic() - start, 2),
    }
