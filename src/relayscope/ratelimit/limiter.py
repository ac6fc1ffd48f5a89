"""Limiters decide whether a request fits its counters, all of them or none at once.

``MemoryLimiter`` keeps counters in this process (one gateway); ``RedisLimiter``
(``redis_limiter.py``) keeps them in Redis, shared by replicas.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from relayscope.ratelimit.window import SlidingLog, admits


@dataclass(frozen=True, slots=True)
class Check:
    """One counter a request must fit in."""

    counter: str
    """Identifies the counter within the org (policy and segment value)."""
    quota: float
    window: int
    """Seconds."""
    cost: float
    """Taken up front when admitted: 1 for ``u=request``, 0 for ``u=cents`` (paid by ``spend``)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    allowed: bool
    used: float
    """What the counter holds after the decision."""
    reset: float
    """Seconds until capacity returns: for a refusal, until this request would fit;
    otherwise until the oldest counted use leaves the window (0 when none counts)."""


class BackendUnavailable(Exception):
    """The counters could not be reached; the request was neither counted nor refused."""


class Limiter(Protocol):
    async def decide(self, org_id: str, checks: Sequence[Check]) -> list[Outcome]:
        """Admit the request on every counter if it fits in all of them, else on none."""

    async def spend(self, org_id: str, checks: Sequence[Check], amount: float) -> None:
        """Add ``amount`` to every counter in ``checks``, unconditionally."""


class MemoryLimiter:
    """Counters in this process. One decision runs without awaiting, so it is atomic.

    Counters whose uses have all left their window are forgotten a few at a time
    per decision, in passes started every ``sweep_interval`` seconds, so that
    forgetting never stalls a request however many counters there are.
    """

    SWEEP_BATCH = 64

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, sweep_interval: float = 60.0
    ) -> None:
        self._clock = clock
        self._logs: dict[tuple[str, str, int], SlidingLog] = {}
        self._sweep_interval = sweep_interval
        self._next_sweep = clock() + sweep_interval
        self._to_sweep: list[tuple[str, str, int]] = []

    @property
    def counters(self) -> int:
        return len(self._logs)

    async def decide(self, org_id: str, checks: Sequence[Check]) -> list[Outcome]:
        return self.decide_now(org_id, checks)

    async def spend(self, org_id: str, checks: Sequence[Check], amount: float) -> None:
        self.spend_now(org_id, checks, amount)

    def decide_now(self, org_id: str, checks: Sequence[Check]) -> list[Outcome]:
        now = self._clock()
        now_ms = now * 1000
        self._sweep(now)
        logs = [self._log(org_id, check, now_ms) for check in checks]
        fits = [admits(log.total, c.cost, c.quota) for log, c in zip(logs, checks, strict=True)]
        if all(fits):
            for log, check in zip(logs, checks, strict=True):
                if check.cost > 0:
                    log.add(now_ms, check.cost)
        return [
            Outcome(True, log.total, log.reset_ms(now_ms) / 1000)
            if fit
            else Outcome(False, log.total, log.wait_ms(now_ms, check.cost, check.quota) / 1000)
            for log, check, fit in zip(logs, checks, fits, strict=True)
        ]

    def spend_now(self, org_id: str, checks: Sequence[Check], amount: float) -> None:
        now_ms = self._clock() * 1000
        for check in checks:
            self._log(org_id, check, now_ms).add(now_ms, amount)

    def _log(self, org_id: str, check: Check, now_ms: float) -> SlidingLog:
        key = (org_id, check.counter, check.window)
        log = self._logs.get(key)
        if log is None:
            log = self._logs[key] = SlidingLog(check.window)
        else:
            log.prune(now_ms)
        return log

    def _sweep(self, now: float) -> None:
        pending = self._to_sweep
        if not pending:
            if now < self._next_sweep:
                return
            self._next_sweep = now + self._sweep_interval
            pending.extend(self._logs)
        now_ms = now * 1000
        for _ in range(min(self.SWEEP_BATCH, len(pending))):
            key = pending.pop()
            log = self._logs.get(key)
            if log is not None:
                log.prune(now_ms)
                if not log.entries:
                    del self._logs[key]
