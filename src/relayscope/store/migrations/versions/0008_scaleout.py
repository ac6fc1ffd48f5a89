"""scale-out: JSONB documents and a GIN index on Postgres, indexes for every explorer filter

Revision ID: 0008_scaleout
Revises: 0007_rate_limits
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_scaleout"
down_revision = "0007_rate_limits"
branch_labels = None
depends_on = None

_DOCUMENTS = ("properties", "attempts", "prompt_variables")
_INDEXES = {
    "ix_requests_org_response_model": ["org_id", "response_model", "created_at"],
    "ix_requests_org_provider": ["org_id", "provider", "created_at"],
    "ix_requests_org_status": ["org_id", "status", "created_at"],
    "ix_requests_org_request_name": ["org_id", "request_name", "created_at"],
}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for column in _DOCUMENTS:
            op.alter_column(
                "requests",
                column,
                type_=postgresql.JSONB(),
                postgresql_using=f"{column}::jsonb",
            )
        op.create_index(
            "ix_requests_properties",
            "requests",
            ["properties"],
            postgresql_using="gin",
            postgresql_ops={"properties": "jsonb_path_ops"},
        )
    for name, columns in _INDEXES.items():
        op.create_index(name, "requests", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="requests")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_requests_properties", table_name="requests")
        for column in _DOCUMENTS:
            op.alter_column("requests", column, type_=sa.JSON(), postgresql_using=f"{column}::json")
