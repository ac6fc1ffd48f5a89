"""The book of budgets: a change announced while a read is under way is not lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from relayscope.budgets.book import BudgetBook, snapshot
from relayscope.budgets.model import Budget

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def org_budget(budget_id: str) -> Budget:
    return Budget(budget_id, "org", "org", None, 1.0, None, "day", "calendar", CREATED, CREATED)


def test_a_change_made_during_a_read_is_seen_by_the_next_request():
    async def scenario() -> list[str]:
        stored = [org_budget("old")]
        reading = asyncio.Event()
        release = asyncio.Event()

        async def load():
            seen = list(stored)
            reading.set()
            await release.wait()
            return snapshot(seen, {})

        book = BudgetBook(load, ttl=60)
        first = asyncio.create_task(book.current())
        await reading.wait()  # the first read has what the store held then
        stored.append(org_budget("new"))
        book.invalidate()  # as the API does after its write
        reading.clear()
        release.set()
        await first
        found = await book.current()
        return [b.id for b in found.by_org["org"]]

    assert asyncio.run(scenario()) == ["old", "new"]


def test_without_changes_a_fresh_snapshot_is_served_without_reading():
    async def scenario() -> int:
        reads = 0

        async def load():
            nonlocal reads
            reads += 1
            return snapshot([org_budget("b")], {})

        book = BudgetBook(load, ttl=60)
        for _ in range(5):
            await book.current()
        return reads

    assert asyncio.run(scenario()) == 1
