"""Migration 0013: property names that earlier versions split by case are merged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import text

from relayscope.analytics.repository import Analytics, Span
from relayscope.store import migrate, rollup
from relayscope.store.schema import daily_rollups, model_rollups
from relayscope.store.sql import SqlStore
from relayscope.testing.seeding import make_record

BEFORE = "0012_body_sizes"
BULK = 1234
ROLLUP_COLUMNS_0017 = (
    "cache_read_tokens BIGINT NOT NULL DEFAULT 0",
    "cost_saved_usd FLOAT NOT NULL DEFAULT 0",
)
ROLLUP_TABLES_0022 = (daily_rollups, model_rollups)
HOUR = datetime(2026, 3, 1, 10, tzinfo=UTC)

# Property names as earlier versions stored them: as each client sent them.
SPLIT = [
    {"Feature": "chat", "Tier": "gold"},
    {"feature": "chat"},
    {"FEATURE": "search"},
    {"feature": "chat", "tier": "gold"},
    {"Feature": "chat"},
    {},
]


def _rollups(conn: Any) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    rows = conn.execute(
        text(
            "SELECT org_id, dim, bucket, value, requests, errors, total_tokens, cost_usd, "
            "first_at, last_at FROM request_rollups"
        )
    )
    # Costs are sums of floats, added up in another order by the migration.
    return {tuple(row[:4]): (*row[4:7], round(row[7], 9), *row[8:]) for row in rows}


async def _old_store(store: SqlStore) -> str:
    async with store.database.begin() as conn:
        await conn.run_sync(
            lambda sync: migrate.command.upgrade(migrate.alembic_config(sync), BEFORE)
        )
    org = await store.ensure_org("split")
    records = [
        make_record(
            org.id,
            HOUR + timedelta(minutes=5 * n),
            properties=properties,
            total_tokens=10 * (n + 1),
            cost_usd=0.01 * (n + 1),
            status=500 if n == 4 else 200,
        )
        for n, properties in enumerate(SPLIT)
    ]
    # More than one page of the migration's scan, within one rollup hour.
    records += [
        make_record(org.id, HOUR + timedelta(seconds=n), properties={"Bulk": str(n % 3)})
        for n in range(BULK)
    ]
    # The store writes every column it knows; those added after BEFORE are there
    # only while the records go in.
    async with store.database.begin() as conn:
        await conn.execute(text("ALTER TABLE requests ADD COLUMN reasoning_tokens INTEGER"))
        for column in ROLLUP_COLUMNS_0017:
            await conn.execute(text(f"ALTER TABLE request_rollups ADD COLUMN {column}"))
        await conn.run_sync(lambda sync: [t.create(sync) for t in ROLLUP_TABLES_0022])
    assert await store.insert_requests(records) == len(records)
    async with store.database.begin() as conn:
        await conn.execute(text("ALTER TABLE requests DROP COLUMN reasoning_tokens"))
        for column in ROLLUP_COLUMNS_0017:
            name = column.split()[0]
            await conn.execute(text(f"ALTER TABLE request_rollups DROP COLUMN {name}"))
        await conn.run_sync(lambda sync: [t.drop(sync) for t in ROLLUP_TABLES_0022])
        await conn.execute(
            text(
                "INSERT INTO request_webhooks (id, org_id, url, secret, include_bodies, "
                "properties, created_at) VALUES ('hook', :org, 'http://127.0.0.1:9/h', 's', "
                "false, :properties, :at)"
            ),
            {"org": org.id, "properties": '{"Feature": "chat"}', "at": HOUR},
        )
    return org.id


async def test_upgrading_merges_property_names_split_by_case(store_url):
    store = SqlStore(store_url)
    try:
        org_id = await _old_store(store)
        analytics = Analytics(store.database)
        span = Span(HOUR - timedelta(days=1), HOUR + timedelta(days=1))
        assert set(await analytics.property_names(org_id, span)) == {
            "Feature",
            "feature",
            "FEATURE",
            "Tier",
            "tier",
            "Bulk",
        }

        await store.migrate()

        async with store.database.connect() as conn:
            stored = [
                orjson.loads(p) if isinstance(p, str) else p
                for (p,) in await conn.execute(
                    text("SELECT properties FROM requests ORDER BY created_at")
                )
            ]
            migrated = await conn.run_sync(_rollups)
            hook = (
                await conn.execute(text("SELECT properties FROM request_webhooks"))
            ).scalar_one()
        assert stored.count({"bulk": "0"}) == len(range(0, BULK, 3))
        stored = [p for p in stored if "bulk" not in p]
        assert stored == [
            {"feature": "chat", "tier": "gold"},
            {"feature": "chat"},
            {"feature": "search"},
            {"feature": "chat", "tier": "gold"},
            {"feature": "chat"},
            {},
        ]
        assert (orjson.loads(hook) if isinstance(hook, str) else hook) == {"feature": "chat"}
        # The Properties page: one name per property, counting every request.
        assert await analytics.property_names(org_id, span) == {
            "feature": (5, 2),
            "tier": (2, 1),
            "bulk": (BULK, 3),
        }
        # The merged rollups are exactly what the request log adds up to now.
        async with store.database.begin() as conn:
            await conn.run_sync(rollup.rebuild)
            rebuilt = await conn.run_sync(_rollups)
        assert migrated == rebuilt
        feature_chat = [v for k, v in migrated.items() if k[1:4:2] == ("property:feature", "chat")]
        assert [row[:2] for row in feature_chat] == [(4, 1)]
    finally:
        await store.close()
