"""body sizes: the original size of a body the log stored cut to its limit

Revision ID: 0012_body_sizes
Revises: 0011_key_roles
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_body_sizes"
down_revision = "0011_key_roles"
branch_labels = None
depends_on = None

_COLUMNS = ("request_body_bytes", "response_body_bytes")


def upgrade() -> None:
    for column in _COLUMNS:
        op.add_column("requests", sa.Column(column, sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite >= 3.35 has it): a batch copy of the table would
    # lose the search index's triggers on SQLite.
    for column in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE requests DROP COLUMN {column}")
