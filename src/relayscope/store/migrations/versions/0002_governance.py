"""governance: per-org retention and redaction rules

Revision ID: 0002_governance
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_governance"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "org_settings",
        sa.Column("org_id", sa.String(length=36), sa.ForeignKey("orgs.id"), primary_key=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
    )
    op.create_table(
        "redaction_rules",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("org_id", sa.String(length=36), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("replacement", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_redaction_rules_org_id", "redaction_rules", ["org_id"])


def downgrade() -> None:
    op.drop_index("ix_redaction_rules_org_id", table_name="redaction_rules")
    op.drop_table("redaction_rules")
    op.drop_table("org_settings")
