"""request scores: named numbers and booleans (and feedback) attached to requests

Revision ID: 0016_request_scores
Revises: 0015_reasoning_tokens
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_request_scores"
down_revision = "0015_reasoning_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_scores",
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("boolean", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "request_id", "name", name="pk_request_scores"),
    )
    op.create_index("ix_request_scores_org_name", "request_scores", ["org_id", "name", "value"])


def downgrade() -> None:
    op.drop_index("ix_request_scores_org_name", table_name="request_scores")
    op.drop_table("request_scores")
