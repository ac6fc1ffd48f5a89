"""explorer sorts: (org, coalesce(value, -1), id) indexes for latency, cost and tokens

Without them a page sorted by cost sorted every request of the org (seconds at a
million rows); with them it is a walk of the index. The expression is the one
``schema.sort_key`` writes, so the planner matches it.

Revision ID: 0020_explorer_sort_indexes
Revises: 0019_any_case_user
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_explorer_sort_indexes"
down_revision = "0019_any_case_user"
branch_labels = None
depends_on = None

SORTABLE = {"latency": "latency_ms", "cost": "cost_usd", "tokens": "total_tokens"}


def upgrade() -> None:
    for name, column in SORTABLE.items():
        op.create_index(
            f"ix_requests_org_{name}",
            "requests",
            ["org_id", sa.text(f"coalesce({column}, -1.0)"), "id"],
        )


def downgrade() -> None:
    for name in SORTABLE:
        op.drop_index(f"ix_requests_org_{name}", table_name="requests")
