"""Scores next to the records in ClickHouse, so filters and charts join them there.

The SQL store keeps every score (``store.scores``: the per-request limit, the
request's page, exports, governance); when records live in ClickHouse each saved
score is also written to ``<database>.request_scores``, a ReplacingMergeTree keyed
like the SQL table, (org, request id, name). A score changed later is a new row
with a later ``updated_at``: every read takes ``argMax(value, updated_at)`` per key,
so it sees the newest value whether or not ClickHouse has merged the rows yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from relayscope.store.base import ScoreCondition

MAX_GROUP_VALUE = 200
"""A group's value is cut to this many characters, as the SQL analytics cut theirs."""

_OPS = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_BUCKETS = {"minute": "toStartOfMinute", "hour": "toStartOfHour", "day": "toStartOfDay"}

ScoreKey = tuple[datetime | None, str | None]
"""(bucket start or None, group value or None), as ``analytics.repository.Key``."""


def table_sql(table: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (\n"
        "  org_id String,\n"
        "  request_id String,\n"
        "  name String,\n"
        "  value Float64,\n"
        "  boolean Bool,\n"
        "  updated_at DateTime64(6, 'UTC')\n"
        ")\n"
        "ENGINE = ReplacingMergeTree(updated_at)\n"
        "ORDER BY (org_id, request_id, name)"
    )


def latest(table: str, where: str) -> str:
    """Each (request, name)'s newest value among the rows ``where`` selects."""
    return (
        f"SELECT request_id, name, argMax(value, updated_at) AS value, "
        f"argMax(boolean, updated_at) AS boolean FROM {table} "
        f"WHERE {where} GROUP BY request_id, name"
    )


def condition(table: str, cond: ScoreCondition, n: int) -> tuple[str, dict[str, str]]:
    """A WHERE clause on the org's records (``{org:String}`` bound by the caller): the
    record holds score ``cond.name`` comparing with ``cond.value``."""
    newest = latest(table, f"org_id = {{org:String}} AND name = {{sn{n}:String}}")
    compare = f"value {_OPS[cond.op]} {{sv{n}:Float64}}"
    clause = f"id IN (SELECT request_id FROM ({newest}) WHERE {compare})"
    return clause, {f"sn{n}": cond.name, f"sv{n}": repr(cond.value)}


def group_sql(group_by: str) -> tuple[str, str | None, dict[str, str]]:
    """(expression, condition, parameters) grouping records like the SQL analytics."""
    cut = f"substringUTF8({{}}, 1, {MAX_GROUP_VALUE})"
    if group_by == "model":
        return cut.format("coalesce(request_model, response_model, '')"), None, {}
    if group_by == "provider":
        return cut.format("toString(provider)"), None, {}
    if group_by == "user":
        return cut.format("assumeNotNull(user_id)"), "user_id IS NOT NULL", {}
    if group_by == "prompt":
        version = "concat(assumeNotNull(prompt_id), ' v', toString(prompt_version))"
        return cut.format(version), "prompt_id IS NOT NULL", {}
    name = group_by.removeprefix("property:")
    expression = cut.format("properties[{group_property:String}]")
    return expression, "mapContains(properties, {group_property:String})", {"group_property": name}


def rows(org_id: str, request_id: str, scores: Mapping[str, float | bool], updated_at: str) -> str:
    """The JSONEachRow lines that store ``scores`` (``updated_at`` in ClickHouse's text)."""
    return b"\n".join(
        orjson.dumps(
            {
                "org_id": org_id,
                "request_id": request_id,
                "name": name,
                "value": float(value),
                "boolean": isinstance(value, bool),
                "updated_at": updated_at,
            }
        )
        for name, value in scores.items()
    ).decode()


def totals_sql(
    requests_table: str,
    scores_table: str,
    where: list[str],
    params: dict[str, str],
    *,
    granularity: str | None,
    group_by: str | None,
) -> str:
    """Per (bucket, group) ``k0``/``k1``: ``scored`` (records holding score ``{score}``)
    and ``total`` (their sum), among the org's records ``where`` selects. ``params``
    gets the grouping's parameters."""
    keys: list[str] = []
    where = list(where)
    if granularity:
        keys.append(f"{_BUCKETS[granularity]}(created_at)")
    if group_by:
        expression, only, named = group_sql(group_by)
        keys.append(expression)
        params.update(named)
        if only is not None:
            where.append(only)
    labelled = "".join(f"{key} AS k{i}, " for i, key in enumerate(keys))
    newest = latest(scores_table, "org_id = {org:String} AND name = {score:String}")
    sql = (
        f"SELECT {labelled}count() AS scored, sum(s.value) AS total "
        f"FROM {requests_table} AS r INNER JOIN ({newest}) AS s ON r.id = s.request_id "
        f"WHERE {' AND '.join(['r.org_id = {org:String}', *where])}"
    )
    if keys:
        sql += " GROUP BY " + ", ".join(f"k{i}" for i in range(len(keys)))
    return sql


def names_sql(requests_table: str, scores_table: str, where: list[str]) -> str:
    """Each score ``name`` on the org's records ``where`` selects: ``scored``,
    ``average``, and ``boolean`` (every value posted as one)."""
    newest = latest(scores_table, "org_id = {org:String}")
    return (
        "SELECT s.name AS name, count() AS scored, avg(s.value) AS average, "
        "min(s.boolean) AS boolean "
        f"FROM {requests_table} AS r INNER JOIN ({newest}) AS s ON r.id = s.request_id "
        f"WHERE {' AND '.join(['r.org_id = {org:String}', *where])} "
        "GROUP BY name ORDER BY name"
    )


def bucket(text: str) -> datetime:
    """A bucket start as ClickHouse writes it (UTC), as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
