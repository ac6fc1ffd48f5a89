"""provider 429s are rate-limited: backfill ``requests.rate_limited`` and the rollups

Earlier versions set ``rate_limited`` only when one of the gateway's own policies
refused a request; a 429 from the provider was logged as a plain error. Both are a
rate limit to the client, so the record now says so for every 429 (``logs.stage``).
This marks the 429s already stored, and, when there were any, recomputes the
rollups that count them (analytics, the dashboard) from the request log.

Revision ID: 0014_provider_429_rate_limited
Revises: 0013_property_names
"""

import sqlalchemy as sa
from alembic import op

from relayscope.store.rollup import rebuild

revision = "0014_provider_429_rate_limited"
down_revision = "0013_property_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    marked = bind.execute(
        sa.text(
            "UPDATE requests SET rate_limited = :yes WHERE status = 429 AND rate_limited = :no"
        ),
        {"yes": True, "no": False},
    ).rowcount
    if marked:
        rebuild(bind)


def downgrade() -> None:
    """Nothing to undo: which 429s the gateway itself refused is not kept apart."""
