"""Tables shared by every SQL store (SQLite, Postgres). Changes go through migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

orgs = Table(
    "orgs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(32), nullable=False),
    Column("name", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

requests = Table(
    "requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("org_id", String(36), nullable=False),
    Column("key_id", String(36)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("request_model", String(200)),
    Column("response_model", String(200)),
    Column("status", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("ttft_ms", Float),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("total_tokens", Integer),
    Column("cache_read_tokens", Integer),
    Column("cache_write_tokens", Integer),
    Column("cost_usd", Float),
    Column("user_id", String(256)),
    Column("session_id", String(256)),
    Column("session_path", Text),
    Column("session_name", String(256)),
    Column("properties", JSON, nullable=False),
    Column("request_name", String(256)),
    Column("stream", Boolean, nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("cache_hit", Boolean, nullable=False),
    Column("cache_source_id", String(64)),
    Column("cache_similarity", Float),
    Column("cost_saved_usd", Float),
    Column("rate_limited", Boolean, nullable=False),
    Column("attempts", JSON),
    Column("fallback_index", Integer),
    Column("prompt_id", String(200)),
    Column("prompt_version", Integer),
    Column("prompt_variables", JSON),
    Column("error", Text),
    Column("request_body", Text),
    Column("response_body", Text),
    Index("ix_requests_org_created", "org_id", "created_at", "id"),
    Index("ix_requests_org_user", "org_id", "user_id", "created_at"),
    Index("ix_requests_org_session", "org_id", "session_id", "created_at"),
    Index("ix_requests_org_model", "org_id", "request_model", "created_at"),
    Index("ix_requests_org_prompt", "org_id", "prompt_id", "prompt_version"),
)

# Pre-aggregated request statistics, maintained by ``analytics.rollup`` in the same
# transaction as each batch insert (see docs/dashboard.md). ``dim`` is "" (all
# requests), "model", "provider", "user" or "property:<name>"; ``value`` the
# dimension's value ("" for the total), cut to 256 characters.
request_rollups = Table(
    "request_rollups",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("dim", String(160), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("value", String(256), primary_key=True),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("rate_limited", BigInteger, nullable=False),
    Column("cache_hits", BigInteger, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("latency_ms_sum", Float, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    sqlite_with_rowid=False,
)

# Request counts per org, hour and latency bin (bins are powers of 1.2 ms, see
# ``analytics.percentiles``): they tell exact percentile queries where to start.
latency_histogram = Table(
    "latency_histogram",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("bucket", DateTime(timezone=True), primary_key=True),
    Column("bin", Integer, primary_key=True, autoincrement=False),
    Column("requests", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# One row per session with its running totals, maintained like ``request_rollups``.
session_rollups = Table(
    "session_rollups",
    metadata,
    Column("org_id", String(36), primary_key=True),
    Column("session_id", String(256), primary_key=True),
    Column("name", String(256)),
    Column("user_id", String(256)),
    Column("requests", BigInteger, nullable=False),
    Column("errors", BigInteger, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("first_at", DateTime(timezone=True), nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Column("end_at", DateTime(timezone=True), nullable=False),
    Index("ix_session_rollups_org_last", "org_id", "last_at"),
    sqlite_with_rowid=False,
)

# Dashboard sign-ins: the cookie carries a random token, the table its SHA-256.
dashboard_sessions = Table(
    "dashboard_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("org_id", String(36), ForeignKey("orgs.id"), nullable=False),
    Column("key_id", String(36), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
