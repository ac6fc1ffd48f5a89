"""budgets: teams, the keys each team holds, budgets per level, soft-limit alerts sent

Revision ID: 0023_budgets
Revises: 0022_audit_log
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_budgets"
down_revision = "0022_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_teams_org_name"),
    )
    op.create_table(
        "team_keys",
        sa.Column("key_id", sa.String(36), sa.ForeignKey("api_keys.id"), primary_key=True),
        sa.Column("team_id", sa.String(36), sa.ForeignKey("teams.id"), nullable=False),
        sa.Column("org_id", sa.String(36), nullable=False),
    )
    op.create_index("ix_team_keys_team_id", "team_keys", ["team_id"])
    op.create_table(
        "budgets",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_id", sa.String(36), sa.ForeignKey("orgs.id"), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("target", sa.String(256), nullable=True),
        sa.Column("usd_limit", sa.Float(), nullable=True),
        sa.Column("token_limit", sa.BigInteger(), nullable=True),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("reset", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_budgets_org_id", "budgets", ["org_id"])
    op.create_table(
        "budget_alerts",
        sa.Column("budget_id", sa.String(36), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("spent_usd", sa.Float(), nullable=True),
        sa.Column("spent_tokens", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("budget_id", "period_start", "threshold", name="pk_budget_alerts"),
    )


def downgrade() -> None:
    op.drop_table("budget_alerts")
    op.drop_index("ix_budgets_org_id", table_name="budgets")
    op.drop_table("budgets")
    op.drop_index("ix_team_keys_team_id", table_name="team_keys")
    op.drop_table("team_keys")
    op.drop_table("teams")
