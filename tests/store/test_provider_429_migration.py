"""Migration 0014: provider 429s stored by earlier versions count as rate-limited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from relayscope.analytics.repository import Analytics
from relayscope.store import migrate, rollup
from relayscope.store.base import RequestFilter
from relayscope.store.schema import daily_rollups, model_rollups
from relayscope.store.sql import SqlStore
from relayscope.testing.seeding import make_record

BEFORE = "0013_property_names"
ROLLUP_COLUMNS_0017 = (
    "cache_read_tokens BIGINT NOT NULL DEFAULT 0",
    "cost_saved_usd FLOAT NOT NULL DEFAULT 0",
)
ROLLUP_TABLES_0022 = (daily_rollups, model_rollups)
HOUR = datetime(2026, 3, 1, 10, tzinfo=UTC)
WHOLE_DAY = RequestFilter(since=HOUR - timedelta(hours=10), until=HOUR + timedelta(hours=14))


def _rollups(conn: Any) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        text("SELECT org_id, dim, bucket, value, requests, rate_limited FROM request_rollups")
    )
    return sorted(tuple(row) for row in rows)


async def rate_limited(store: SqlStore, org_id: str) -> tuple[int, int]:
    """(rate-limited requests in analytics, in the explorer's rate-limited filter)."""
    totals = await Analytics(store.database).aggregate(org_id, WHOLE_DAY)
    page = await store.list_requests(
        org_id, RequestFilter(status="rate_limited"), limit=100, cursor=None
    )
    return sum(t.rate_limited for t in totals.values()), len(page.records)


async def test_upgrading_marks_provider_429s_and_recounts_the_rollups(store_url):
    store = SqlStore(store_url)
    try:
        async with store.database.begin() as conn:
            await conn.run_sync(
                lambda sync: migrate.command.upgrade(migrate.alembic_config(sync), BEFORE)
            )
        org = await store.ensure_org("limits")
        at = [HOUR + timedelta(minutes=4 * n) for n in range(10)]
        records = [
            # Refused by a gateway policy: counted before and after.
            *(make_record(org.id, at[n], status=429, rate_limited=True) for n in (0, 1)),
            # The provider's 429, as earlier versions logged it.
            *(make_record(org.id, at[n], status=429, user_id="u1") for n in (2, 3, 4)),
            *(make_record(org.id, at[n], status=status) for n, status in ((5, 200), (6, 500))),
        ]
        # The store reads and writes every column it knows; those added after BEFORE
        # are there only while it does, before the upgrade.
        async with store.database.begin() as conn:
            await conn.execute(text("ALTER TABLE requests ADD COLUMN reasoning_tokens INTEGER"))
            for column in ROLLUP_COLUMNS_0017:
                await conn.execute(text(f"ALTER TABLE request_rollups ADD COLUMN {column}"))
            await conn.run_sync(lambda sync: [t.create(sync) for t in ROLLUP_TABLES_0022])
        assert await store.insert_requests(records) == len(records)
        assert await rate_limited(store, org.id) == (2, 2)
        async with store.database.begin() as conn:
            await conn.execute(text("ALTER TABLE requests DROP COLUMN reasoning_tokens"))
            for column in ROLLUP_COLUMNS_0017:
                name = column.split()[0]
                await conn.execute(text(f"ALTER TABLE request_rollups DROP COLUMN {name}"))
            await conn.run_sync(lambda sync: [t.drop(sync) for t in ROLLUP_TABLES_0022])

        await store.migrate()

        assert await rate_limited(store, org.id) == (5, 5)
        by_user = await Analytics(store.database).aggregate(org.id, WHOLE_DAY, group_by="user")
        assert {key: t.rate_limited for key, t in by_user.items()}[(None, "u1")] == 3
        async with store.database.begin() as conn:
            migrated = await conn.run_sync(_rollups)
            await conn.run_sync(rollup.rebuild)
            assert migrated == await conn.run_sync(_rollups)
    finally:
        await store.close()
