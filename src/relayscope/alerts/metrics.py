"""Rule metrics computed from the request log with portable SQLAlchemy Core.

Percentiles are exact and interpolated like Postgres' ``percentile_cont``: count the
window's requests, then let the database sort the latencies and return the (at most)
two values around the rank ``(n - 1) * q`` with ``LIMIT 2 OFFSET k``. Only those
two rows cross the wire, and the same query runs on SQLite, which has no percentile
function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from relayscope.alerts.rules import LATENCY, NEEDS_VOLUME, SCORE, Filters, RuleSpec
from relayscope.proxy.tags import property_name
from relayscope.store.base import LogStore, RequestFilter
from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.store.database import Database
from relayscope.store.schema import request_scores, requests


@dataclass(frozen=True, slots=True)
class Measurement:
    value: float | None
    """What the rule compares with its threshold; None when there is too little traffic."""
    requests: int
    """Requests in the (current) window that match the rule's filters."""
    observed: float | None = None
    """The metric itself (in relative mode, the current window's latency)."""
    baseline: float | None = None
    """Relative mode: the previous window's latency."""


def conditions(org_id: str, filters: Filters, start: datetime, end: datetime) -> list[Any]:
    c = requests.c
    where: list[Any] = [c.org_id == org_id, c.created_at >= start, c.created_at < end]
    if filters.model is not None:
        where.append(or_(c.request_model == filters.model, c.response_model == filters.model))
    if filters.provider is not None:
        where.append(c.provider == filters.provider)
    if filters.user_id is not None:
        where.append(c.user_id == filters.user_id)
    for name, value in filters.properties.items():
        where.append(c.properties[property_name(name)].as_string() == value)
    return where


def is_error() -> Any:
    """A request counts as failed when its status is 4xx/5xx or it ended with an error."""
    return or_(requests.c.status >= 400, requests.c.error.is_not(None))


async def measure(
    database: Database,
    org_id: str,
    rule: RuleSpec,
    end: datetime,
    logs: LogStore | None = None,
) -> Measurement:
    """The rule's metric over the window ending at ``end``. With ``logs`` in ClickHouse,
    a score rule is measured there, where the records and a copy of their scores are."""
    start = end - timedelta(seconds=rule.window)
    if rule.metric == SCORE and isinstance(logs, ClickHouseLogStore):
        return await _clickhouse_score(logs, org_id, rule, start, end)
    current = await _measure(database, org_id, rule, start, end)
    if rule.mode != "relative":
        return current
    previous = await _measure(database, org_id, rule, start - (end - start), start)
    change = None
    if current.value is not None and previous.value:
        change = (current.value - previous.value) / previous.value * 100
    return Measurement(change, current.requests, current.value, previous.value)


async def _measure(
    database: Database, org_id: str, rule: RuleSpec, start: datetime, end: datetime
) -> Measurement:
    where = conditions(org_id, rule.filters, start, end)
    if rule.metric == SCORE:
        assert rule.score is not None
        return await _score(database, where, rule.score, rule.min_requests)
    c = requests.c
    totals = select(
        func.count(),
        func.coalesce(func.sum(case((is_error(), 1), else_=0)), 0),
        func.coalesce(func.sum(c.cost_usd), 0.0),
        func.coalesce(func.sum(c.total_tokens), 0),
    ).where(and_(*where))
    async with database.connect() as conn:
        count, errors, cost, tokens = (await conn.execute(totals)).one()
        if rule.metric in NEEDS_VOLUME and count < rule.min_requests:
            return Measurement(None, count)
        if rule.metric in LATENCY:
            value = await percentile(conn, where, count, LATENCY[rule.metric])
        else:
            value = {
                "request_count": count,
                "cost_usd": cost,
                "tokens": tokens,
                "error_rate": 100 * errors / count if count else None,
            }[rule.metric]
    value = float(value) if value is not None else None
    return Measurement(value, count, value)


async def _score(database: Database, where: list[Any], name: str, min_requests: int) -> Measurement:
    """The average of score ``name`` over the window's requests that hold it."""
    s = request_scores.c
    joined = requests.join(
        request_scores,
        and_(s.org_id == requests.c.org_id, s.request_id == requests.c.id, s.name == name),
    )
    query = select(func.count(), func.avg(s.value)).select_from(joined).where(and_(*where))
    async with database.connect() as conn:
        count, average = (await conn.execute(query)).one()
    if count < min_requests or average is None:
        return Measurement(None, count)
    return Measurement(float(average), count, float(average))


async def _clickhouse_score(
    logs: ClickHouseLogStore, org_id: str, rule: RuleSpec, start: datetime, end: datetime
) -> Measurement:
    assert rule.score is not None
    f = rule.filters
    chosen = RequestFilter(
        model=f.model,
        provider=f.provider,
        user_id=f.user_id,
        properties=tuple((property_name(name), value) for name, value in f.properties.items()),
        since=start,
        until=end,
    )
    found = await logs.score_totals(org_id, chosen, rule.score)
    count, total = found.get((None, None), (0, 0.0))
    if count < rule.min_requests or count == 0:
        return Measurement(None, count)
    return Measurement(total / count, count, total / count)


async def percentile(conn: Any, where: list[Any], count: int, percent: int) -> float | None:
    """Linear-interpolated ``percent`` percentile of ``latency_ms`` over ``count`` rows."""
    if count == 0:
        return None
    # Integer arithmetic keeps the rank exact: (n - 1) * 0.95 in floats can land below k.
    rank, remainder = divmod((count - 1) * percent, 100)
    query = (
        select(requests.c.latency_ms)
        .where(and_(*where))
        .order_by(requests.c.latency_ms)
        .limit(2)
        .offset(rank)
    )
    values = (await conn.execute(query)).scalars().all()
    if not values:
        return None
    low: float = values[0]
    high: float = values[1] if len(values) > 1 else low
    return low + (high - low) * remainder / 100
