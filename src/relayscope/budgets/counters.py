"""Spend counters: what each budget's current period has spent, as the gateway saw it.

A counter is named by its budget and the start of its period, so a new period starts
from zero by itself. ``MemoryCounters`` serve one process; ``redis_counters`` shares
them between replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from relayscope.budgets.model import Spend


class CountersUnavailable(Exception):
    """The counters' backend (Redis) cannot be reached."""


@dataclass(frozen=True, slots=True)
class Counter:
    """One budget's counter in one period."""

    org_id: str
    budget_id: str
    start: datetime
    end: datetime
    """When the period ends; the counter can be forgotten after it."""

    @property
    def name(self) -> str:
        return f"{self.budget_id}:{int(self.start.timestamp())}"


class Counters(Protocol):
    async def read(self, counters: Sequence[Counter]) -> list[Spend]:
        """What each counter holds."""
        ...

    async def charge(self, counters: Sequence[Counter], spend: Spend) -> list[Spend]:
        """Add ``spend`` to each counter at once; what each holds now."""
        ...

    async def raise_to(self, counter: Counter, spend: Spend) -> None:
        """Make the counter hold at least ``spend`` (reconciling with the log store)."""
        ...


class MemoryCounters:
    """Counters of one gateway process."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[float, int, datetime]] = {}

    async def read(self, counters: Sequence[Counter]) -> list[Spend]:
        return [self._get(c) for c in counters]

    async def charge(self, counters: Sequence[Counter], spend: Spend) -> list[Spend]:
        now: list[Spend] = []
        for counter in counters:
            held = self._get(counter)
            total = Spend(held.usd + spend.usd, held.tokens + spend.tokens)
            self._held[counter.name] = (total.usd, total.tokens, counter.end)
            now.append(total)
        return now

    async def raise_to(self, counter: Counter, spend: Spend) -> None:
        held = self._get(counter)
        self._held[counter.name] = (
            max(held.usd, spend.usd),
            max(held.tokens, spend.tokens),
            counter.end,
        )

    def forget_before(self, moment: datetime) -> None:
        """Drop the counters of periods that ended before ``moment``."""
        self._held = {name: v for name, v in self._held.items() if v[2] >= moment}

    def _get(self, counter: Counter) -> Spend:
        held = self._held.get(counter.name)
        return Spend() if held is None else Spend(held[0], held[1])
