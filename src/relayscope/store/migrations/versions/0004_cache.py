"""response cache entries (memory backend persistence)

Revision ID: 0004_cache
Revises: 0003_provider_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_cache"
down_revision = "0003_provider_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cache_entries",
        sa.Column("slot", sa.String(length=120), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("partition", sa.String(length=120), nullable=True),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("slot"),
    )
    op.create_index("ix_cache_entries_expires", "cache_entries", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_cache_entries_expires", table_name="cache_entries")
    op.drop_table("cache_entries")
