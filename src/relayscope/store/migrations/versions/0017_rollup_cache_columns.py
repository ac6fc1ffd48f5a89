"""rollups keep cached prompt tokens and the cost the gateway's cache saved

The analytics' token and cache panels (prompt vs completion vs cached tokens, cost
saved by cache hits) read these per hour from ``request_rollups`` like every other
sum; the rollups made before them are recomputed from the request log.

Revision ID: 0017_rollup_cache_columns
Revises: 0016_request_scores
"""

import sqlalchemy as sa
from alembic import op

from relayscope.store.rollup import rebuild

revision = "0017_rollup_cache_columns"
down_revision = "0016_request_scores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "request_rollups",
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.add_column(
        "request_rollups",
        sa.Column("cost_saved_usd", sa.Float(), nullable=False, server_default="0"),
    )
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM request_rollups LIMIT 1")).first() is not None:
        rebuild(bind)


def downgrade() -> None:
    op.execute("ALTER TABLE request_rollups DROP COLUMN cost_saved_usd")
    op.execute("ALTER TABLE request_rollups DROP COLUMN cache_read_tokens")
