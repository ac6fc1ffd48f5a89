"""Budgets and team membership held in memory, so that requests never wait on the store.

The book reads every budget and every key's team in one go and serves that snapshot
for ``ttl`` seconds; when it is stale the next request refreshes it in the background
and is served from the snapshot it has. Only a process's first request waits for the
first read. A refresh that fails keeps the snapshot. A change made through this
process's API (``invalidate``) applies from the next request on; other processes
see it within ``ttl``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from relayscope.budgets.model import Budget

log = logging.getLogger("relayscope.budgets")


@dataclass(frozen=True, slots=True)
class Snapshot:
    by_org: dict[str, tuple[Budget, ...]] = field(default_factory=dict)
    key_teams: dict[str, str] = field(default_factory=dict)
    """The team of each key that belongs to one."""
    team_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)


Load = Callable[[], Awaitable[Snapshot]]


def snapshot(budgets: list[Budget], key_teams: dict[str, str]) -> Snapshot:
    by_org: dict[str, list[Budget]] = {}
    for budget in budgets:
        by_org.setdefault(budget.org_id, []).append(budget)
    team_keys: dict[str, list[str]] = {}
    for key_id, team_id in key_teams.items():
        team_keys.setdefault(team_id, []).append(key_id)
    return Snapshot(
        {org: tuple(items) for org, items in by_org.items()},
        key_teams,
        {team: tuple(keys) for team, keys in team_keys.items()},
    )


class BudgetBook:
    def __init__(self, load: Load, *, ttl: float) -> None:
        self._load = load
        self._ttl = ttl
        self._snapshot: Snapshot | None = None
        self._fresh_until = 0.0
        self._refreshing: asyncio.Task[None] | None = None
        self._changes = 0
        """How many times the store was said to have changed (``invalidate``)."""
        self._seen = 0
        """How many of those changes the snapshot's read started after."""

    def invalidate(self) -> None:
        """The store changed: the next request waits for a read that sees the change."""
        self._changes += 1
        self._fresh_until = 0.0

    def may_have(self, org_id: str) -> bool:
        """False only when a fresh snapshot says the org has no budget."""
        found = self._snapshot
        fresh = found is not None and time.monotonic() < self._fresh_until
        return found is None or not fresh or org_id in found.by_org

    async def current(self) -> Snapshot:
        """The snapshot (the first call waits for the first read; until one succeeds,
        an empty one: with the store down no budget can be read, and none is applied)."""
        for _ in range(2):  # a read that began before a change, then one after it
            if self._refreshing is None and time.monotonic() >= self._fresh_until:
                self._refreshing = asyncio.create_task(self._refresh(), name="budget-book")
            behind = self._snapshot is None or self._seen < self._changes or self._ttl <= 0
            if not behind or self._refreshing is None:
                break
            await asyncio.shield(self._refreshing)
            if self._ttl <= 0:
                break
        return self._snapshot or Snapshot()

    async def refresh(self) -> Snapshot:
        """Read the store now (reconciling wants what it holds, not a stale copy)."""
        if self._refreshing is None:
            self._refreshing = asyncio.create_task(self._refresh(), name="budget-book")
        await asyncio.shield(self._refreshing)
        return self._snapshot or Snapshot()

    def applying(
        self, found: Snapshot, org_id: str, key_id: str, user_id: str | None
    ) -> list[Budget]:
        """The budgets a request of ``org_id`` made with ``key_id`` by ``user_id`` falls under."""
        team = found.key_teams.get(key_id)
        owners = {"org": None, "team": team, "user": user_id, "key": key_id}
        return [
            b
            for b in found.by_org.get(org_id, ())
            if b.level == "org" or (owners[b.level] is not None and b.target == owners[b.level])
        ]

    async def _refresh(self) -> None:
        changes = self._changes
        try:
            self._snapshot = await self._load()
        except Exception as exc:
            log.warning("cannot read budgets, keeping the last read: %s", exc)
        finally:
            # A change made while reading may be missing from what was read.
            current = changes == self._changes
            self._seen = changes
            self._fresh_until = time.monotonic() + self._ttl if current else 0.0
            self._refreshing = None
