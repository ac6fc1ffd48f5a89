"""One declaration (``store.record_columns``) makes the request log's columns in every
store: a LogRecord field with no column, or a column with no field, fails here."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

from sqlalchemy import inspect

from relayscope.record import LogRecord
from relayscope.store import schema
from relayscope.store.clickhouse import COLUMNS as CLICKHOUSE
from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.store.record_columns import COLUMNS, DERIVED, NULLABLE
from relayscope.store.sql import SqlStore

FIELDS = [f.name for f in dataclasses.fields(LogRecord)]
ADDED_SINCE_THE_FIRST_CLICKHOUSE_TABLE = (
    "record_uid",
    "warnings",
    "request_body_bytes",
    "response_body_bytes",
    "reasoning_tokens",
)


def test_every_record_field_is_declared_and_every_declared_column_is_a_field():
    missing = [name for name in FIELDS if name not in COLUMNS]
    assert not missing, f"LogRecord fields with no entry in record_columns.COLUMNS: {missing}"
    stray = [name for name in COLUMNS if name not in FIELDS and name not in DERIVED]
    assert not stray, f"columns that are no LogRecord field (nor named in DERIVED): {stray}"
    assert [name for name in COLUMNS if name not in DERIVED] == FIELDS, "not in field order"


def test_a_clickhouse_column_admits_null_exactly_where_its_field_admits_none():
    admits = {name for name, kind in CLICKHOUSE.items() if "Nullable(" in kind}
    assert admits == NULLABLE
    assert list(CLICKHOUSE) == list(COLUMNS)


async def test_the_migrated_sql_database_has_the_declared_columns(store_url):
    """The Alembic migrations, not only the table object, give every field its column."""
    assert [c.name for c in schema.requests.c] == list(COLUMNS)
    store = SqlStore(store_url)
    try:
        await store.migrate()
        async with store.engine.connect() as conn:
            stored = await conn.run_sync(lambda sync: inspect(sync).get_columns("requests"))
    finally:
        await store.close()
    nullable = {column["name"]: column["nullable"] for column in stored}
    missing = [name for name in COLUMNS if name not in nullable]
    assert not missing, f"no migration adds these requests columns: {missing}"
    stray = [name for name in nullable if name not in COLUMNS]
    assert not stray, f"requests columns with no LogRecord field (nor in DERIVED): {stray}"
    assert {name for name, admits in nullable.items() if admits} == NULLABLE - DERIVED


async def test_a_clickhouse_table_from_the_first_version_gets_every_column(tmp_path):
    store = ClickHouseLogStore(f"chdb://{tmp_path}/chdb")
    try:
        first = {
            name: kind
            for name, kind in CLICKHOUSE.items()
            if name not in ADDED_SINCE_THE_FIRST_CLICKHOUSE_TABLE
        }
        columns = ", ".join(f"{name} {kind}" for name, kind in first.items())
        await store.executor.execute(f"CREATE DATABASE IF NOT EXISTS {store.database_name}")
        await store.executor.execute(
            f"CREATE TABLE {store.table} ({columns}) ENGINE = ReplacingMergeTree "
            "ORDER BY (org_id, created_at, id)"
        )
        await store.migrate()
        rows = await store.query(
            "SELECT name, type FROM system.columns "
            "WHERE database = {db:String} AND table = 'requests' ORDER BY position",
            {"db": store.database_name},
        )
        assert {row["name"]: row["type"] for row in rows} == {
            name: kind.removesuffix(" CODEC(ZSTD(3))") for name, kind in CLICKHOUSE.items()
        }
        record = LogRecord(
            id=str(uuid.uuid4()),
            org_id="o1",
            created_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
            provider="openai",
            path="/openai/v1/chat/completions",
            status=200,
            latency_ms=2.5,
            warnings=["a warning"],
            reasoning_tokens=4,
        )
        assert await store.insert_requests([record]) == 1
        assert await store.get_request("o1", record.id) == record
    finally:
        await store.close()
