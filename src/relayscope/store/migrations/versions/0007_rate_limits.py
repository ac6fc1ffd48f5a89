"""rate limits: standing policies per org, optionally per gateway key

Revision ID: 0007_rate_limits
Revises: 0006_alerts
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_rate_limits"
down_revision = "0006_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_policies",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=True),
        sa.Column("quota", sa.Float(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("segment", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("rate_limit_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_limit_policies_org_id"), ["org_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_limit_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_policies_org_id"))
    op.drop_table("rate_limit_policies")
