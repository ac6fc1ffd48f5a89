"""prompts: per-org prompts, immutable numbered versions, labels

Revision ID: 0005_prompts
Revises: 0004_cache
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_prompts"
down_revision = "0004_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.PrimaryKeyConstraint("org_id", "id"),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("prompt_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("system", sa.JSON(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("template_hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id", "prompt_id"], ["prompts.org_id", "prompts.id"]),
        sa.PrimaryKeyConstraint("org_id", "prompt_id", "version"),
    )
    op.create_table(
        "prompt_labels",
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("prompt_id", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "prompt_id", "version"],
            ["prompt_versions.org_id", "prompt_versions.prompt_id", "prompt_versions.version"],
        ),
        sa.PrimaryKeyConstraint("org_id", "prompt_id", "label"),
    )


def downgrade() -> None:
    op.drop_table("prompt_labels")
    op.drop_table("prompt_versions")
    op.drop_table("prompts")
