"""Scores over time: the average of one score per bucket and group, from the request
log joined with its scores (``store.scores``); a request counts in the bucket of its
own ``created_at``, whenever it was scored. Booleans average to the share of true."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, and_, cast, func, select

from relayscope.analytics import buckets
from relayscope.analytics.repository import Analytics, Key, group_sql
from relayscope.store.base import RequestFilter
from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.store.schema import request_scores, requests
from relayscope.store.sql import request_conditions


@dataclass(slots=True)
class ScoreTotals:
    scored: int = 0
    """Requests that hold the score."""
    total: float = 0.0
    """The sum of their values."""

    def merge(self, other: ScoreTotals) -> None:
        self.scored += other.scored
        self.total += other.total

    @property
    def average(self) -> float | None:
        return self.total / self.scored if self.scored else None


def _joined(name: str) -> Any:
    s = request_scores.c
    return requests.join(
        request_scores,
        and_(s.org_id == requests.c.org_id, s.request_id == requests.c.id, s.name == name),
    )


async def score_totals(
    analytics: Analytics,
    org_id: str,
    f: RequestFilter,
    name: str,
    *,
    granularity: str | None = None,
    group_by: str | None = None,
) -> dict[Key, ScoreTotals]:
    """How many of the requests ``f`` selects hold score ``name``, and their sum, per
    (bucket, group): in ClickHouse when it holds the records, beside their scores."""
    if isinstance(analytics.logs, ClickHouseLogStore):
        found = await analytics.logs.score_totals(
            org_id, f, name, granularity=granularity, group_by=group_by
        )
        return {key: ScoreTotals(scored, total) for key, (scored, total) in found.items()}
    database = analytics.database
    dialect = database.dialect
    conditions = request_conditions(f, dialect)
    keys: list[Any] = []
    if granularity:
        keys.append(buckets.expression(requests.c.created_at, granularity, dialect))
    if group_by:
        expression, condition = group_sql(group_by)
        keys.append(expression)
        if condition is not None:
            conditions.append(condition)
    labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
    value = request_scores.c.value
    query = (
        select(*labelled, func.count().label("scored"), func.sum(value).label("total"))
        .select_from(_joined(name))
        .where(requests.c.org_id == org_id, *conditions)
    )
    if labelled:
        query = query.group_by(*labelled)
    async with database.connect() as conn:
        rows = (await conn.execute(query)).all()
    out: dict[Key, ScoreTotals] = {}
    for row in rows:
        bucket: datetime | None = buckets.parse(row[0]) if granularity else None
        group = row[1 if granularity else 0] if group_by else None
        out[bucket, group] = ScoreTotals(int(row.scored), float(row.total or 0.0))
    return out


async def score_names(analytics: Analytics, org_id: str, f: RequestFilter) -> list[dict[str, Any]]:
    """Every score name on the requests ``f`` selects: how many hold it, its average,
    and whether it is a boolean (every value posted as one)."""
    if isinstance(analytics.logs, ClickHouseLogStore):
        return await analytics.logs.score_names(org_id, f)
    database = analytics.database
    s = request_scores.c
    query = (
        select(
            s.name,
            func.count().label("scored"),
            func.avg(s.value).label("average"),
            func.min(cast(s.boolean, Integer)).label("boolean"),
        )
        .select_from(
            requests.join(
                request_scores,
                and_(s.org_id == requests.c.org_id, s.request_id == requests.c.id),
            )
        )
        .where(requests.c.org_id == org_id, *request_conditions(f, database.dialect))
        .group_by(s.name)
        .order_by(s.name)
    )
    async with database.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "name": row.name,
            "requests": int(row.scored),
            "average": float(row.average),
            "boolean": bool(row.boolean),
        }
        for row in rows
    ]
