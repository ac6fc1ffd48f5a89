"""any-case user filter: an index on lower(user_id)

``user_id.is`` (the dashboard's "user is") compares ``lower(user_id)``; this index
lets it read one user's requests in time order, as ``ix_requests_org_user`` does
for the exact filter.

Revision ID: 0019_any_case_user
Revises: 0018_datasets_experiments
"""

from alembic import op

revision = "0019_any_case_user"
down_revision = "0018_datasets_experiments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_requests_org_user_lower "
        "ON requests (org_id, lower(user_id), created_at)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_requests_org_user_lower")
