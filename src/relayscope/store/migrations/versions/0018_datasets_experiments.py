"""datasets of request/response pairs, and experiments that run them against variants

Revision ID: 0018_datasets_experiments
Revises: 0017_rollup_cache_columns
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_datasets_experiments"
down_revision = "0017_rollup_cache_columns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "id", name="pk_datasets"),
    )
    op.create_table(
        "dataset_rows",
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("output", sa.Text()),
        sa.Column("expected", sa.Text()),
        sa.Column("request_id", sa.String(64)),
        sa.Column("model", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("org_id", "id", name="pk_dataset_rows"),
    )
    op.create_index("ix_dataset_rows_dataset", "dataset_rows", ["org_id", "dataset_id", "position"])
    op.create_table(
        "experiments",
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("dataset_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("estimate", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("org_id", "id", name="pk_experiments"),
    )
    op.create_index("ix_experiments_org_created", "experiments", ["org_id", "created_at"])
    op.create_table(
        "experiment_results",
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("experiment_id", sa.String(36), nullable=False),
        sa.Column("row_id", sa.String(36), nullable=False),
        sa.Column("variant", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("output", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id", "experiment_id", "row_id", "variant", name="pk_experiment_results"
        ),
    )


def downgrade() -> None:
    op.drop_table("experiment_results")
    op.drop_index("ix_experiments_org_created", table_name="experiments")
    op.drop_table("experiments")
    op.drop_index("ix_dataset_rows_dataset", table_name="dataset_rows")
    op.drop_table("dataset_rows")
    op.drop_table("datasets")
