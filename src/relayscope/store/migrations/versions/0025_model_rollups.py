"""daily and per-model rollups, a "prompt" dimension, a TTFT index

Analytics filtered by model read the request log (seconds at a million requests);
``model_rollups`` keeps the same sums per model a request matches, by every
dimension, and ``request_rollups`` gains the prompt version as a dimension. A user's
all-time totals summed 24 hourly rows a day: ``daily_rollups`` holds one. All are
filled from the request log here, as the log writer fills them from now on. The
TTFT panel read every request of its range to find the streams: a partial index
holds just those.

Revision ID: 0025_model_rollups
Revises: 0024_virtual_keys
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from relayscope.store.rollup import rebuild

revision = "0025_model_rollups"
down_revision = "0024_virtual_keys"
branch_labels = None
depends_on = None

SUMS = (
    ("requests", sa.BigInteger()),
    ("errors", sa.BigInteger()),
    ("rate_limited", sa.BigInteger()),
    ("cache_hits", sa.BigInteger()),
    ("prompt_tokens", sa.BigInteger()),
    ("completion_tokens", sa.BigInteger()),
    ("total_tokens", sa.BigInteger()),
    ("cost_usd", sa.Float()),
    ("latency_ms_sum", sa.Float()),
)


STREAM_TTFT = "stream IS true AND ttft_ms IS NOT NULL"


def _totals() -> list[sa.Column[Any]]:
    return [
        *[sa.Column(name, kind, nullable=False) for name, kind in SUMS],
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("cost_saved_usd", sa.Float(), nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    op.create_table(
        "daily_rollups",
        sa.Column("org_id", sa.String(36), primary_key=True),
        sa.Column("dim", sa.String(160), primary_key=True),
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("value", sa.String(256), primary_key=True),
        *_totals(),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_requests_org_stream_ttft",
        "requests",
        ["org_id", "created_at", "ttft_ms"],
        sqlite_where=sa.text(STREAM_TTFT.replace("true", "1")),
        postgresql_where=sa.text(STREAM_TTFT),
    )
    op.create_table(
        "model_rollups",
        sa.Column("org_id", sa.String(36), primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("dim", sa.String(160), primary_key=True),
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("value", sa.String(256), primary_key=True),
        *_totals(),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM requests LIMIT 1")).first() is not None:
        rebuild(bind)


def downgrade() -> None:
    op.drop_index("ix_requests_org_stream_ttft", table_name="requests")
    op.drop_table("model_rollups")
    op.drop_table("daily_rollups")
    op.execute("DELETE FROM request_rollups WHERE dim = 'prompt'")
