"""key roles: api_keys.role, "admin" or "proxy"

Keys made before roles existed: the oldest active key of each org becomes its admin
(the key ``relayscope serve`` printed, or the first one an operator created), every
other key a proxy key. Operators promote others with ``relayscope keys role``.

Revision ID: 0011_key_roles
Revises: 0009_dashboard
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_key_roles"
down_revision = "0010_record_org_id"
branch_labels = None
depends_on = None

_OLDEST_ACTIVE_KEY_PER_ORG_BECOMES_ADMIN = """
UPDATE api_keys SET role = 'admin'
WHERE revoked_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM api_keys AS older
    WHERE older.org_id = api_keys.org_id
      AND older.revoked_at IS NULL
      AND (older.created_at < api_keys.created_at
           OR (older.created_at = api_keys.created_at AND older.id < api_keys.id))
)
"""


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("role", sa.String(length=16), nullable=False, server_default="proxy"),
    )
    op.execute(_OLDEST_ACTIVE_KEY_PER_ORG_BECOMES_ADMIN)


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("role")
