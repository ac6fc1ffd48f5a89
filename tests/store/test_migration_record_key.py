"""Migration 0010: records keyed by (org, id), on a store that already holds records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from relayscope.record import LogRecord
from relayscope.store.base import RequestFilter
from relayscope.store.migrate import alembic_config
from relayscope.store.schema import requests
from relayscope.store.sql import SqlStore

BEFORE = "0009_dashboard"
# Columns added after 0009 (by 0010, 0012 and 0014), which a store at 0009 does not have.
NEW_COLUMNS = (
    "record_uid",
    "warnings",
    "request_body_bytes",
    "response_body_bytes",
    "reasoning_tokens",
)


def old_record(org_id: str, body: str) -> LogRecord:
    return LogRecord(
        id=str(uuid.uuid4()),
        org_id=org_id,
        created_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
        provider="openai",
        path="/openai/v1/chat/completions",
        status=200,
        latency_ms=5.0,
        request_body=body,
        properties={"feature": "chat"},
    )


def store_at_0009(conn: Connection, records: list[LogRecord]) -> None:
    command.upgrade(alembic_config(conn), BEFORE)
    rows = [{k: v for k, v in r.to_row().items() if k not in NEW_COLUMNS} for r in records]
    conn.execute(requests.insert(), rows)


async def test_existing_records_keep_their_ids_search_and_indexes(store_url):
    kept = [old_record("org-a", f"needle number {n}") for n in range(3)]
    store = SqlStore(store_url)
    try:
        async with store.database.begin() as conn:
            await conn.run_sync(store_at_0009, kept)
        await store.migrate()

        for record in kept:
            stored = await store.get_request("org-a", record.id)
            assert stored is not None
            assert stored.request_body == record.request_body
            assert stored.record_uid is None and stored.warnings == []
        found = await store.list_requests(
            "org-a", RequestFilter(search="needle"), limit=10, cursor=None
        )
        assert {r.id for r in found.records} == {r.id for r in kept}

        # Another org may now use the same id; a replay of an old record is still skipped.
        same_id = old_record("org-b", "haystack")
        same_id.id = kept[0].id
        assert await store.insert_requests([same_id, kept[1]]) == 1
        assert (await store.get_request("org-b", kept[0].id)).request_body == "haystack"
        assert (await store.get_request("org-a", kept[0].id)).request_body == "needle number 0"
        found = await store.list_requests(
            "org-b", RequestFilter(search="haystack"), limit=10, cursor=None
        )
        assert [r.id for r in found.records] == [kept[0].id], "new rows are indexed for search"

        if store.dialect == "sqlite":
            async with store.database.connect() as conn:
                names = set(
                    (
                        await conn.execute(
                            text(
                                "SELECT name FROM sqlite_master WHERE tbl_name = 'requests' "
                                "AND type IN ('index', 'trigger')"
                            )
                        )
                    ).scalars()
                )
            assert {
                "ix_requests_org_created",
                "ix_requests_hour_latency",
                "ix_requests_day_latency",
                "requests_fts_insert",
                "requests_fts_delete",
                "requests_fts_update",
            } <= names
    finally:
        await store.close()
