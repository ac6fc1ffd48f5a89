"""reasoning tokens: the output tokens a model spent thinking, where the provider says

Revision ID: 0015_reasoning_tokens
Revises: 0014_provider_429_rate_limited
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_reasoning_tokens"
down_revision = "0014_provider_429_rate_limited"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("requests", sa.Column("reasoning_tokens", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN, as in 0012: a batch copy would lose SQLite's search triggers.
    op.execute("ALTER TABLE requests DROP COLUMN reasoning_tokens")
