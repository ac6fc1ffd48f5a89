"""The counting algorithm: a sliding log, with uses close in time sharing an entry.

Each counter keeps its uses in time order. Uses within the same tick (1/1000 of
the window: ``window`` seconds give ticks of ``window`` ms) share one entry,
which remembers their total and when the last of them was made, and counts until
one window after that. So every use made in the last ``window`` seconds is always
counted: the quota holds in *every* window of that length, not just in aligned
ones, and there is no 2x burst at window edges as with fixed windows. A lone use
leaves exactly one window after it was made; uses merged into an entry may leave
up to one tick (0.1 % of the window) late. What merging buys is memory: a counter
holds at most ``RESOLUTION + 1`` entries whatever the quota, where an exact log
would hold one per use.

``redis_limiter.LUA`` is the same algorithm for Redis; keep them in step.
"""

from __future__ import annotations

import math
from collections import deque

RESOLUTION = 1000
"""Ticks per window."""


def tick_of(now_ms: float, window: int) -> int:
    """The tick ``now_ms`` falls in, for a window of ``window`` seconds."""
    return math.floor(now_ms * RESOLUTION / (window * 1000))


def admits(total: float, cost: float, quota: float) -> bool:
    """Whether a counter at ``total`` takes a request costing ``cost`` up front.

    ``cost`` 0 is a request whose price is only known later (``u=cents``): it is
    let through while anything is left.
    """
    return total + cost <= quota if cost > 0 else total < quota


class SlidingLog:
    """One counter, in process memory. Times are milliseconds of a monotonic clock.

    ``entries`` holds ``[tick, amount, last use]`` lists, oldest first.
    """

    __slots__ = ("entries", "total", "window", "window_ms")

    def __init__(self, window: int) -> None:
        self.window = window
        self.window_ms = window * 1000
        self.entries: deque[list[float]] = deque()
        self.total = 0.0

    def prune(self, now_ms: float) -> None:
        entries = self.entries
        while entries and entries[0][2] + self.window_ms <= now_ms:
            self.total -= entries.popleft()[1]
        if not entries:
            self.total = 0.0

    def add(self, now_ms: float, amount: float) -> None:
        tick = tick_of(now_ms, self.window)
        entries = self.entries
        if entries and entries[-1][0] == tick:
            last = entries[-1]
            last[1] += amount
            last[2] = now_ms
        else:
            entries.append([tick, amount, now_ms])
        self.total += amount

    def reset_ms(self, now_ms: float) -> float:
        """Until the oldest counted use stops counting (0 when nothing counts)."""
        if not self.entries:
            return 0.0
        return self.entries[0][2] + self.window_ms - now_ms

    def wait_ms(self, now_ms: float, cost: float, quota: float) -> float:
        """Until a request costing ``cost`` would be admitted."""
        left = self.total
        wait = 0.0
        for _tick, amount, last in self.entries:
            if admits(left, cost, quota):
                break
            left -= amount
            wait = last + self.window_ms - now_ms
        return wait
