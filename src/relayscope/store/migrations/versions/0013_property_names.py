"""property names: one lower-case name per property

Header names are case-insensitive, but earlier versions stored a property under the
name's case as sent, so ``Helicone-Property-Feature`` (curl, the anthropic SDK) and
``helicone-property-feature`` (the openai SDK) were two properties. This lower-cases
(ASCII only, as ``relayscope.proxy.tags.property_name`` does) the property names in
the request log, the rollups (merging rows that now share a name by adding them up)
and webhook filters.

Revision ID: 0013_property_names
Revises: 0012_body_sizes
"""

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

from relayscope.proxy.tags import property_name

revision = "0013_property_names"
down_revision = "0012_body_sizes"
branch_labels = None
depends_on = None

_PAGE = 500
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SUMMED = (
    "requests",
    "errors",
    "rate_limited",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "latency_ms_sum",
)


def _lowered(dialect: str, expression: str) -> str:
    """SQL for ``expression`` with ASCII letters lower-cased: SQLite's ``lower`` does
    just that; Postgres' follows the locale, so ``translate`` instead."""
    if dialect == "sqlite":
        return f"lower({expression})"
    return f"translate({expression}, '{_UPPER}', '{_UPPER.lower()}')"


def upgrade() -> None:
    bind = op.get_bind()
    _lower_request_properties(bind)
    _merge_rollups(bind)
    _lower_webhook_filters(bind)


def downgrade() -> None:
    """Nothing to undo: the names as they were sent are not kept anywhere."""


def _requests_with_upper_case_names(dialect: str) -> str:
    if dialect == "sqlite":
        keys = (
            "SELECT key FROM json_each(CASE WHEN json_valid(requests.properties) THEN "
            "CASE WHEN json_type(requests.properties) = 'object' THEN requests.properties "
            "ELSE '{}' END ELSE '{}' END)"
        )
    else:
        keys = (
            "SELECT key FROM jsonb_object_keys(CASE WHEN "
            "jsonb_typeof(requests.properties::jsonb) = 'object' "
            "THEN requests.properties::jsonb ELSE '{}'::jsonb END) AS key"
        )
    # Pages follow ix_requests_org_created, so each one starts where the last ended
    # instead of sorting the table again.
    return (
        "SELECT org_id, created_at, id, properties FROM requests "
        f"WHERE EXISTS (SELECT 1 FROM ({keys}) AS names "
        f"WHERE names.key <> {_lowered(dialect, 'names.key')}) "
        "{after} ORDER BY org_id, created_at, id LIMIT :page"
    )


def _lower_request_properties(bind: sa.Connection) -> None:
    dialect = bind.dialect.name
    query = _requests_with_upper_case_names(dialect)
    first = sa.text(query.replace("{after}", ""))
    following = sa.text(query.replace("{after}", "AND (org_id, created_at, id) > (:org, :at, :id)"))
    value = "CAST(:properties AS jsonb)" if dialect == "postgresql" else ":properties"
    update = sa.text(f"UPDATE requests SET properties = {value} WHERE org_id = :org AND id = :id")
    rows = bind.execute(first, {"page": _PAGE}).all()
    while rows:
        changed = []
        for row_org, _, row_id, raw in rows:
            merged = _lower_names(_document(raw))
            if merged is not None:
                changed.append(
                    {"org": row_org, "id": row_id, "properties": orjson.dumps(merged).decode()}
                )
        if changed:
            bind.execute(update, changed)
        if len(rows) < _PAGE:
            return
        org, at, last, _ = rows[-1]
        rows = bind.execute(following, {"org": org, "at": at, "id": last, "page": _PAGE}).all()


def _document(raw: Any) -> Any:
    return orjson.loads(raw) if isinstance(raw, (str, bytes)) else raw


def _lower_names(properties: Any) -> dict[str, Any] | None:
    """``properties`` with lower-case names (a name already lower-case keeps its value
    over a differently-cased twin), or None when there is nothing to change."""
    if not isinstance(properties, dict):
        return None
    merged: dict[str, Any] = {}
    for name, value in properties.items():
        canonical = property_name(name)
        if canonical == name or canonical not in merged:
            merged[canonical] = value
    return merged if list(merged) != list(properties) else None


def _merge_rollups(bind: sa.Connection) -> None:
    dialect = bind.dialect.name
    target = "'property:' || " + _lowered(dialect, "substr(dim, 10)")
    mixed = f"dim LIKE 'property:%' AND dim <> {target}"
    added = ", ".join(f"{c} = request_rollups.{c} + excluded.{c}" for c in _SUMMED)
    bind.execute(
        sa.text(
            "INSERT INTO request_rollups (org_id, dim, bucket, value, "
            f"{', '.join(_SUMMED)}, first_at, last_at) "
            f"SELECT org_id, {target} AS merged, bucket, value, "
            f"{', '.join(f'SUM({c})' for c in _SUMMED)}, MIN(first_at), MAX(last_at) "
            f"FROM request_rollups WHERE {mixed} "
            f"GROUP BY org_id, {target}, bucket, value "
            "ON CONFLICT (org_id, dim, bucket, value) DO UPDATE SET "
            f"{added}, "
            "first_at = CASE WHEN excluded.first_at < request_rollups.first_at "
            "THEN excluded.first_at ELSE request_rollups.first_at END, "
            "last_at = CASE WHEN excluded.last_at > request_rollups.last_at "
            "THEN excluded.last_at ELSE request_rollups.last_at END"
        )
    )
    bind.execute(sa.text(f"DELETE FROM request_rollups WHERE {mixed}"))


def _lower_webhook_filters(bind: sa.Connection) -> None:
    value = "CAST(:properties AS json)" if bind.dialect.name == "postgresql" else ":properties"
    update = sa.text(f"UPDATE request_webhooks SET properties = {value} WHERE id = :id")
    for hook_id, raw in bind.execute(sa.text("SELECT id, properties FROM request_webhooks")):
        merged = _lower_names(_document(raw))
        if merged is not None:
            bind.execute(update, {"id": hook_id, "properties": orjson.dumps(merged).decode()})
