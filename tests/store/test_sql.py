"""The SQL store's production behaviour: concurrent start-up, Postgres types and indexes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from relayscope.record import LogRecord
from relayscope.store.base import RequestFilter
from relayscope.store.sql import SqlStore


@pytest.fixture
def postgres_url(postgres_databases):
    """Postgres only: these are the properties replicas sharing a Postgres rely on."""
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)


async def test_replicas_migrating_at_once_both_start(postgres_url):
    stores = [SqlStore(postgres_url) for _ in range(4)]
    try:
        # Without the migration lock, concurrent DDL deadlocks: fail instead of hanging.
        await asyncio.wait_for(asyncio.gather(*(s.migrate() for s in stores)), 60)
        async with stores[0].database.connect() as conn:
            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        assert len(versions) == 1
        org = await stores[1].ensure_org("acme")
        assert (await stores[2].get_org("acme")) == org
    finally:
        for s in stores:
            await s.close()


async def test_postgres_column_types_and_filter_indexes(postgres_url):
    store = SqlStore(postgres_url)
    await store.migrate()
    try:
        async with store.database.connect() as conn:
            types = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_name = 'requests'"
                        )
                    )
                ).all()
            )
            assert types["created_at"] == "timestamp with time zone"
            assert types["properties"] == types["attempts"] == "jsonb"

            indexes = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT indexname, indexdef FROM pg_indexes "
                            "WHERE tablename = 'requests'"
                        )
                    )
                ).all()
            )
            for column in ("user_id", "session_id", "request_model", "response_model"):
                assert any(f"(org_id, {column}, created_at)" in d for d in indexes.values()), column
            for column in ("provider", "status", "request_name"):
                assert any(f"(org_id, {column}, created_at)" in d for d in indexes.values()), column
            assert "(org_id, prompt_id, prompt_version)" in indexes["ix_requests_org_prompt"]

            # The property filter (JSONB containment) can use the GIN index.
            await conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(
                (
                    await conn.execute(
                        text("""EXPLAIN SELECT id FROM requests WHERE properties @> '{"f": "x"}'""")
                    )
                ).scalars()
            )
            assert "ix_requests_properties" in plan, plan
    finally:
        await store.close()


async def test_property_filter_matches_values_exactly_on_postgres(postgres_url):
    store = SqlStore(postgres_url)
    await store.migrate()
    try:
        now = datetime.now(UTC)
        records = [
            LogRecord(
                id=str(uuid.uuid4()),
                org_id="o",
                created_at=now,
                provider="openai",
                path="/v1/x",
                status=200,
                latency_ms=1.0,
                properties=props,
            )
            for props in ({"n": "1"}, {"n": "10"}, {"n": "1", "quote": 'say "hi"'}, {})
        ]
        assert await store.insert_requests(records) == 4

        async def matching(*props):
            page = await store.list_requests(
                "o", RequestFilter(properties=props), limit=10, cursor=None
            )
            return {r.id for r in page.records}

        assert await matching(("n", "1")) == {records[0].id, records[2].id}
        assert await matching(("quote", 'say "hi"')) == {records[2].id}
        assert await matching(("n", "1"), ("quote", 'say "hi"')) == {records[2].id}
    finally:
        await store.close()
