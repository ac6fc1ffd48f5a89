"""merge: records keyed by (org, id) and key roles, both made from 0009

The two changes touch different tables (``requests``, ``api_keys``), so either
order is right; a store at either one gets the other on its next upgrade.

Revision ID: 0012_merge
Revises: 0010_record_org_id, 0011_key_roles
"""

revision = "0012_merge"
down_revision = ("0010_record_org_id", "0011_key_roles")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: this revision only joins the two histories."""


def downgrade() -> None:
    """Nothing to change: this revision only joins the two histories."""
