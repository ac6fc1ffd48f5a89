"""dashboard: rollups, sessions, search index, analytics indexes

Revision ID: 0009_dashboard
Revises: 0008_scaleout
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

from relayscope.store import rollup

revision = "0009_dashboard"
down_revision = "0008_scaleout"
branch_labels = None
depends_on = None

_TIMES = ("first_at", "last_at")
_COUNTS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
)

# SQLite has no percentile function: exact percentiles seek into these expression
# indexes (one org's rows of one hour or day, in latency order) at a latency the
# histogram names, then step to the rank; see analytics/percentiles.py.
_SQLITE_INDEXES = {
    "ix_requests_hour_latency": "requests (org_id, substr(created_at, 1, 13), latency_ms)",
    "ix_requests_day_latency": "requests (org_id, substr(created_at, 1, 10), latency_ms)",
}

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE requests_fts USING fts5("
    "request_body, response_body, content='requests', content_rowid='rowid')",
    "CREATE TRIGGER requests_fts_insert AFTER INSERT ON requests BEGIN "
    "INSERT INTO requests_fts(rowid, request_body, response_body) "
    "VALUES (new.rowid, new.request_body, new.response_body); END",
    "CREATE TRIGGER requests_fts_delete AFTER DELETE ON requests BEGIN "
    "INSERT INTO requests_fts(requests_fts, rowid, request_body, response_body) "
    "VALUES ('delete', old.rowid, old.request_body, old.response_body); END",
    "CREATE TRIGGER requests_fts_update AFTER UPDATE OF request_body, response_body "
    "ON requests BEGIN "
    "INSERT INTO requests_fts(requests_fts, rowid, request_body, response_body) "
    "VALUES ('delete', old.rowid, old.request_body, old.response_body); "
    "INSERT INTO requests_fts(rowid, request_body, response_body) "
    "VALUES (new.rowid, new.request_body, new.response_body); END",
    "INSERT INTO requests_fts(requests_fts) VALUES ('rebuild')",
]

_POSTGRES_SEARCH = (
    "CREATE INDEX ix_requests_body_search ON requests USING gin "
    "(to_tsvector('simple', coalesce(request_body, '') || ' ' || coalesce(response_body, '')))"
)


def _counters() -> list[sa.Column[int]]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in _COUNTS]


def _times() -> list[sa.Column[datetime]]:
    return [sa.Column(name, sa.DateTime(timezone=True), nullable=False) for name in _TIMES]


def upgrade() -> None:
    op.create_table(
        "request_rollups",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("dim", sa.String(length=160), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        *_counters()[:2],
        sa.Column("rate_limited", sa.BigInteger(), nullable=False),
        sa.Column("cache_hits", sa.BigInteger(), nullable=False),
        *_counters()[2:],
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("org_id", "dim", "bucket", "value"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "latency_histogram",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bin", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "bucket", "bin"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "session_rollups",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("user_id", sa.String(length=256), nullable=True),
        *_counters(),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        *_times(),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "session_id"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_session_rollups_org_last", "session_rollups", ["org_id", "last_at"])
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"], unique=False
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name, target in _SQLITE_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {target}")
        for statement in _SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(_POSTGRES_SEARCH)
    rollup.rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS requests_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS requests_fts")
        for name in _SQLITE_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    else:
        op.execute("DROP INDEX IF EXISTS ix_requests_body_search")
    op.drop_index("ix_dashboard_sessions_expires_at", table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
    op.drop_index("ix_session_rollups_org_last", table_name="session_rollups")
    op.drop_table("session_rollups")
    op.drop_table("latency_histogram")
    op.drop_table("request_rollups")
