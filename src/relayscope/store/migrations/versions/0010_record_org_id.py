"""requests keyed by (org_id, id); record_uid and warnings columns

A ``Helicone-Request-Id`` is chosen by the client, so two orgs (or two requests of
one org) may send the same one: with ``id`` alone as the key, the second record was
dropped. Existing ids are unique, so they are unique per org too: no row changes.

Revision ID: 0010_record_org_id
Revises: 0009_dashboard
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010_record_org_id"
down_revision = "0009_dashboard"
branch_labels = None
depends_on = None

_NEW_COLUMNS = (
    '"record_uid" VARCHAR(36)',
    "\"warnings\" JSON NOT NULL DEFAULT '[]'",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(primary_key=("org_id", "id"), add=_NEW_COLUMNS, drop=())
        return
    op.add_column("requests", sa.Column("record_uid", sa.String(length=36), nullable=True))
    op.add_column(
        "requests", sa.Column("warnings", JSONB(), nullable=False, server_default=sa.text("'[]'"))
    )
    op.drop_constraint("requests_pkey", "requests", type_="primary")
    op.create_primary_key("pk_requests", "requests", ["org_id", "id"])


def downgrade() -> None:
    """Fails (unique violation) once two orgs hold the same id: one record would be lost."""
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(primary_key=("id",), add=(), drop=("record_uid", "warnings"))
        return
    op.drop_constraint("pk_requests", "requests", type_="primary")
    op.create_primary_key("requests_pkey", "requests", ["id"])
    op.drop_column("requests", "warnings")
    op.drop_column("requests", "record_uid")


def _rebuild_sqlite(
    primary_key: tuple[str, ...], add: tuple[str, ...], drop: tuple[str, ...]
) -> None:
    """SQLite cannot change a primary key in place: copy into a new table.

    Rowids are copied too, so the full-text index (``requests_fts``, keyed by rowid)
    stays valid; every index and trigger is created again from its own stored SQL
    (alembic's batch mode would renumber rows and lose the expression indexes).
    """
    bind = op.get_bind()
    columns = [
        row for row in bind.exec_driver_sql('PRAGMA table_info("requests")') if row[1] not in drop
    ]
    definitions = [_column_sql(row) for row in columns]
    keep = ", ".join(f'"{row[1]}"' for row in columns)
    recreate = [
        sql
        for (sql,) in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'requests' "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name"
        )
    ]
    key = ", ".join(f'"{name}"' for name in primary_key)
    name = "pk_requests" if len(primary_key) > 1 else "requests_pkey"
    body = ",\n  ".join([*definitions, *add, f"CONSTRAINT {name} PRIMARY KEY ({key})"])
    # SQLite's driver commits DDL until a write opens a transaction (the INSERT below):
    # a copy left by a run stopped before then is empty and not yet in use.
    bind.exec_driver_sql("DROP TABLE IF EXISTS requests_rebuilt")
    bind.exec_driver_sql(f"CREATE TABLE requests_rebuilt (\n  {body}\n)")
    bind.exec_driver_sql(
        f"INSERT INTO requests_rebuilt (rowid, {keep}) SELECT rowid, {keep} FROM requests"
    )
    bind.exec_driver_sql("DROP TABLE requests")
    bind.exec_driver_sql("ALTER TABLE requests_rebuilt RENAME TO requests")
    for sql in recreate:
        bind.exec_driver_sql(sql)


def _column_sql(row: Any) -> str:
    _cid, name, type_, not_null, default, _pk = row
    sql = f'"{name}" {type_}'
    if not_null or name in ("id", "org_id"):
        sql += " NOT NULL"
    if default is not None:
        sql += f" DEFAULT {default}"
    return sql
