"""Tables shared by every SQL store (SQLite, Postgres). Changes go through migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
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
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

JsonDocument = JSON().with_variant(JSONB(), "postgresql")
"""JSON; JSONB on Postgres, so that property filters can use a GIN index."""

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
    Column("properties", JsonDocument, nullable=False),
    Column("request_name", String(256)),
    Column("stream", Boolean, nullable=False),
    Column("cancelled", Boolean, nullable=False),
    Column("cache_hit", Boolean, nullable=False),
    Column("cache_source_id", String(64)),
    Column("cache_similarity", Float),
    Column("cost_saved_usd", Float),
    Column("rate_limited", Boolean, nullable=False),
    Column("attempts", JsonDocument),
    Column("fallback_index", Integer),
    Column("prompt_id", String(200)),
    Column("prompt_version", Integer),
    Column("prompt_variables", JsonDocument),
    Column("error", Text),
    Column("request_body", Text),
    Column("response_body", Text),
    Index("ix_requests_org_created", "org_id", "created_at", "id"),
    Index("ix_requests_org_user", "org_id", "user_id", "created_at"),
    Index("ix_requests_org_session", "org_id", "session_id", "created_at"),
    Index("ix_requests_org_model", "org_id", "request_model", "created_at"),
    Index("ix_requests_org_prompt", "org_id", "prompt_id", "prompt_version"),
    Index("ix_requests_org_response_model", "org_id", "response_model", "created_at"),
    Index("ix_requests_org_provider", "org_id", "provider", "created_at"),
    Index("ix_requests_org_status", "org_id", "status", "created_at"),
    Index("ix_requests_org_request_name", "org_id", "request_name", "created_at"),
    Index(
        "ix_requests_properties",
        "properties",
        postgresql_using="gin",
        postgresql_ops={"properties": "jsonb_path_ops"},
    ).ddl_if(dialect="postgresql"),
)
