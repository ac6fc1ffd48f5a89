"""The request log's columns, declared once for every store.

Each ``LogRecord`` field is one column, under its own name, in the SQL ``requests``
table (``store.schema``) and in the ClickHouse table (``store.clickhouse``): both
are made from ``COLUMNS``, in its order (the record's), and a column admits NULL
exactly where its field's type admits None. tests/store/test_record_columns.py
holds the declaration against the record, the migrated SQL database and a
ClickHouse table.

A new ``LogRecord`` field needs its entry here and an Alembic migration that adds
its SQL column; ClickHouse tables made before it get the column at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Float, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from relayscope.record import LogRecord

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
"""JSON; JSONB on Postgres, so that property filters can use a GIN index."""

_ZSTD = " CODEC(ZSTD(3))"


@dataclass(frozen=True, slots=True)
class RecordColumn:
    """How each store keeps one field."""

    sql: TypeEngine[Any] | type[TypeEngine[Any]]
    clickhouse: str
    """The ClickHouse column type (and codec)."""
    sql_default: str | None = None
    """The SQL server default, for rows written before the column existed."""


COLUMNS: dict[str, RecordColumn] = {
    "id": RecordColumn(String(64), "String"),
    "org_id": RecordColumn(String(36), "String"),
    "key_id": RecordColumn(String(36), "Nullable(String)"),
    "created_at": RecordColumn(DateTime(timezone=True), "DateTime64(6, 'UTC')"),
    "provider": RecordColumn(String(64), "LowCardinality(String)"),
    "path": RecordColumn(Text, "String"),
    "request_model": RecordColumn(String(200), "LowCardinality(Nullable(String))"),
    "response_model": RecordColumn(String(200), "LowCardinality(Nullable(String))"),
    "status": RecordColumn(Integer, "UInt16"),
    "latency_ms": RecordColumn(Float, "Float64"),
    "ttft_ms": RecordColumn(Float, "Nullable(Float64)"),
    "prompt_tokens": RecordColumn(Integer, "Nullable(Int64)"),
    "completion_tokens": RecordColumn(Integer, "Nullable(Int64)"),
    "total_tokens": RecordColumn(Integer, "Nullable(Int64)"),
    "cache_read_tokens": RecordColumn(Integer, "Nullable(Int64)"),
    "cache_write_tokens": RecordColumn(Integer, "Nullable(Int64)"),
    "cost_usd": RecordColumn(Float, "Nullable(Float64)"),
    "user_id": RecordColumn(String(256), "Nullable(String)"),
    "session_id": RecordColumn(String(256), "Nullable(String)"),
    "session_path": RecordColumn(Text, "Nullable(String)"),
    "session_name": RecordColumn(String(256), "Nullable(String)"),
    "properties": RecordColumn(JsonDocument, "Map(String, String)"),
    "request_name": RecordColumn(String(256), "Nullable(String)"),
    "stream": RecordColumn(Boolean, "Bool"),
    "cancelled": RecordColumn(Boolean, "Bool"),
    "cache_hit": RecordColumn(Boolean, "Bool"),
    "cache_source_id": RecordColumn(String(64), "Nullable(String)"),
    "cache_similarity": RecordColumn(Float, "Nullable(Float64)"),
    "cost_saved_usd": RecordColumn(Float, "Nullable(Float64)"),
    "rate_limited": RecordColumn(Boolean, "Bool"),
    # ClickHouse keeps these JSON documents as their text.
    "attempts": RecordColumn(JsonDocument, "Nullable(String)"),
    "fallback_index": RecordColumn(Integer, "Nullable(Int32)"),
    "prompt_id": RecordColumn(String(200), "Nullable(String)"),
    "prompt_version": RecordColumn(Integer, "Nullable(Int32)"),
    "prompt_variables": RecordColumn(JsonDocument, "Nullable(String)"),
    "error": RecordColumn(Text, "Nullable(String)"),
    "request_body": RecordColumn(Text, "Nullable(String)" + _ZSTD),
    "response_body": RecordColumn(Text, "Nullable(String)" + _ZSTD),
    "record_uid": RecordColumn(String(36), "Nullable(String)"),
    "warnings": RecordColumn(JsonDocument, "Array(String)", sql_default="[]"),
    "request_body_bytes": RecordColumn(BigInteger, "Nullable(Int64)"),
    "response_body_bytes": RecordColumn(BigInteger, "Nullable(Int64)"),
    "reasoning_tokens": RecordColumn(Integer, "Nullable(Int64)"),
}

DERIVED: frozenset[str] = frozenset()
"""Columns that are no ``LogRecord`` field (a store computes them from others).

None so far; one added to ``COLUMNS`` must be named here, or the declaration test
takes it for a field that went missing from the record."""

NULLABLE = frozenset(f.name for f in fields(LogRecord) if str(f.type).endswith("| None"))
"""The fields whose type admits None: their columns admit NULL."""


def sql_columns() -> list[Column[Any]]:
    """The SQL ``requests`` table's columns (a new list of new objects on each call)."""
    return [
        Column(name, spec.sql, nullable=name in NULLABLE, server_default=spec.sql_default)
        for name, spec in COLUMNS.items()
    ]


def clickhouse_columns() -> dict[str, str]:
    """The ClickHouse table's columns: name to type."""
    return {name: spec.clickhouse for name, spec in COLUMNS.items()}
