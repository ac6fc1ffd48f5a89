"""virtual keys: gateway keys with scopes, an expiry, rotation and provider credentials

Revision ID: 0024_virtual_keys
Revises: 0023_budgets
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_virtual_keys"
down_revision = "0023_budgets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("key_metadata", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("previous_key_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("previous_valid_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
        batch_op.create_index("ix_api_keys_previous_key_hash", ["previous_key_hash"])
    op.create_table(
        "api_key_credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"]),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id", "provider", name="uq_api_key_credentials_key_provider"),
    )


def downgrade() -> None:
    op.drop_table("api_key_credentials")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_previous_key_hash")
        for column in (
            "revision",
            "previous_valid_until",
            "previous_key_hash",
            "key_metadata",
            "scopes",
            "expires_at",
        ):
            batch_op.drop_column(column)
