"""Scores and feedback on requests, in the SQL store (``schema.request_scores``).

A score is a name and a finite number or a boolean; feedback is the boolean score
``FEEDBACK``, so every filter, chart and alert that takes a score name takes it too.
Scores are keyed like records, (org, request id): one org never reads another's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, not_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from relayscope.errors import BadRequest
from relayscope.store.base import LogStore, ScoreCondition
from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.store.database import Database
from relayscope.store.schema import request_scores, requests

FEEDBACK = "helicone-feedback"
"""The score a request's feedback is kept as: true for a positive rating."""
RESERVED_PREFIX = "helicone-"
"""Score names the gateway keeps for itself (feedback); clients cannot post them."""
MAX_SCORES_PER_REQUEST = 50
"""Distinct score names one request may hold, feedback included."""

ScoreValue = float | bool

_COMPARE = {
    "eq": lambda column, value: column == value,
    "ne": lambda column, value: column != value,
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
}


async def save(
    database: Database,
    org_id: str,
    request_id: str,
    scores: Mapping[str, ScoreValue],
    *,
    logs: LogStore | None = None,
) -> None:
    """Insert or update ``scores`` on the request, within ``MAX_SCORES_PER_REQUEST``.

    When ``logs`` is ClickHouse, the scores are written there too, beside the records
    their filters and charts join (``store.clickhouse_scores``). That write comes
    second: a failure leaves the SQL store ahead and the caller an error, and the
    same scores posted again (an idempotent update) bring ClickHouse level.
    """
    now = datetime.now(UTC)
    rows = [
        {
            "org_id": org_id,
            "request_id": request_id,
            "name": name,
            "value": float(value),
            "boolean": isinstance(value, bool),
            "updated_at": now,
        }
        for name, value in scores.items()
    ]
    insert = postgresql_insert if database.dialect == "postgresql" else sqlite_insert
    statement = insert(request_scores)
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "request_id", "name"],
        set_={
            "value": statement.excluded.value,
            "boolean": statement.excluded.boolean,
            "updated_at": statement.excluded.updated_at,
        },
    )
    s = request_scores.c
    async with database.begin() as conn:
        held = set(
            (
                await conn.execute(
                    select(s.name).where(s.org_id == org_id, s.request_id == request_id)
                )
            ).scalars()
        )
        if len(held | set(scores)) > MAX_SCORES_PER_REQUEST:
            raise BadRequest(
                f"A request holds at most {MAX_SCORES_PER_REQUEST} scores; this one has "
                f"{len(held)} and the new names would make {len(held | set(scores))}",
                param="scores",
                code="too_many_scores",
            )
        await conn.execute(statement, rows)
    if isinstance(logs, ClickHouseLogStore):
        await logs.save_scores(org_id, request_id, scores, now)


async def of_request(database: Database, org_id: str, request_id: str) -> list[dict[str, Any]]:
    """The request's scores, by name: ``{"name", "value", "updated_at"}``."""
    s = request_scores.c
    query = (
        select(s.name, s.value, s.boolean, s.updated_at)
        .where(s.org_id == org_id, s.request_id == request_id)
        .order_by(s.name)
    )
    async with database.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [_score_json(row) for row in rows]


async def of_requests(
    database: Database, org_id: str, request_ids: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """``of_request`` for each of ``request_ids`` at once (an export's page); a request
    without scores is left out."""
    if not request_ids:
        return {}
    s = request_scores.c
    query = (
        select(s.request_id, s.name, s.value, s.boolean, s.updated_at)
        .where(s.org_id == org_id, s.request_id.in_(list(request_ids)))
        .order_by(s.request_id, s.name)
    )
    async with database.connect() as conn:
        rows = (await conn.execute(query)).all()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.request_id, []).append(_score_json(row))
    return found


def _score_json(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "value": bool(row.value) if row.boolean else row.value,
        "updated_at": _utc(row.updated_at).isoformat(),
    }


def scores_json(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"scores": {name: value}, "feedback": {"rating", "updated_at"} | None}`` for a
    record's JSON, from ``of_request``."""
    feedback = None
    scores: dict[str, ScoreValue] = {}
    for row in rows:
        if row["name"] == FEEDBACK:
            feedback = {"rating": row["value"], "updated_at": row["updated_at"]}
        else:
            scores[row["name"]] = row["value"]
    return {"scores": scores, "feedback": feedback}


def condition(cond: ScoreCondition) -> Any:
    """A WHERE clause on ``requests``: the request has score ``cond.name`` matching."""
    # An alias of its own: a query that also joins request_scores (analytics) must not
    # have this subquery correlated to its join.
    s = request_scores.alias().c
    return exists().where(
        s.org_id == requests.c.org_id,
        s.request_id == requests.c.id,
        s.name == cond.name,
        _COMPARE[cond.op](s.value, cond.value),
    )


async def delete_for_requests(database: Database, org_id: str, request_ids: list[str]) -> int:
    """Delete the scores of the org's ``request_ids``; returns how many."""
    if not request_ids:
        return 0
    s = request_scores.c
    async with database.begin() as conn:
        result = await conn.execute(
            delete(request_scores).where(s.org_id == org_id, s.request_id.in_(request_ids))
        )
    return result.rowcount


async def delete_orphans(database: Database, org_id: str, before: datetime) -> int:
    """Delete scores last changed before ``before`` whose request is not stored: a score
    posted for a record that never arrived, or whose record is gone."""
    s = request_scores.c
    stored = exists().where(and_(requests.c.org_id == s.org_id, requests.c.id == s.request_id))
    async with database.begin() as conn:
        result = await conn.execute(
            delete(request_scores).where(s.org_id == org_id, s.updated_at < before, not_(stored))
        )
    return result.rowcount


async def count(database: Database, org_id: str) -> int:
    s = request_scores.c
    async with database.connect() as conn:
        query = select(func.count()).select_from(request_scores).where(s.org_id == org_id)
        return (await conn.execute(query)).scalar_one()


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


MAX_NAME_LENGTH = 64


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a score name, or None when it can."""
    if not isinstance(name, str) or not name.strip():
        return "a score name must be a non-empty string"
    if len(name) > MAX_NAME_LENGTH:
        return f"a score name has at most {MAX_NAME_LENGTH} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return "a score name cannot hold control characters"
    return None


def parse_condition(name: str, raw: str) -> ScoreCondition:
    """``score.<name>=[op:]value`` from a query string: ``gte:0.8``, ``0.8``, ``true``.

    ValueError says what is wrong.
    """
    problem = name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    op, sep, text = raw.partition(":")
    if not sep:
        op, text = "eq", raw
    if op not in _COMPARE:
        raise ValueError(f"the comparison must be one of {', '.join(_COMPARE)}, as in gte:0.8")
    text = text.strip()
    if text in ("true", "false"):
        return ScoreCondition(name, op, 1.0 if text == "true" else 0.0)
    try:
        value = float(text)
    except ValueError:
        raise ValueError("the value must be a number, true or false") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("the value must be a finite number")
    return ScoreCondition(name, op, value)


async def request_stored(database: Database, org_id: str, request_id: str) -> bool:
    query = select(exists().where(requests.c.org_id == org_id, requests.c.id == request_id))
    async with database.connect() as conn:
        return bool((await conn.execute(query)).scalar_one())
