"""The analytics queries: totals, time series, users, properties and sessions.

Every query is scoped to one org. ``aggregate`` answers from the rollups for whole
hours when the filters allow it: ``request_rollups`` for none, or one user, provider,
prompt version or property (``daily_rollups`` for its whole days when no hourly
buckets are asked for); ``model_rollups`` for a model filter alone or with one of
those but a user. The request log answers the rest (the range's partial first and last
hours, minute buckets, any other filter); both give the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from relayscope.analytics import buckets, percentiles
from relayscope.store.base import LogStore, RequestFilter
from relayscope.store.database import Database
from relayscope.store.rollup import MAX_VALUE, NOT_PER_MODEL, Totals
from relayscope.store.schema import (
    daily_rollups,
    model_rollups,
    request_rollups,
    requests,
    session_rollups,
)
from relayscope.store.sql import request_conditions

Key = tuple[datetime | None, str | None]
"""(bucket start or None, group value or None)."""

DIMENSIONS = ("model", "provider", "user")


@dataclass(frozen=True, slots=True)
class Span:
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Target:
    """The rollup rows that select exactly what a filter selects (besides time)."""

    model: str | None
    """None: ``request_rollups``; else the ``model_rollups`` rows of this model."""
    dim: str
    value: str

    def groups(self, group_by: str | None) -> bool:
        """Whether the rollups hold these rows split by ``group_by`` (None: whole)."""
        if group_by is None:
            return True
        return self.dim == "" and (self.model is None or group_by not in NOT_PER_MODEL)


def rollup_target(f: RequestFilter) -> Target | None:
    """The rollup rows that select exactly what ``f`` selects (besides time), or None
    when only the request log can answer. A value as long as the rollups' cut could
    stand for longer ones too: the log answers those."""
    others = (f.session_id, f.status, f.request_name, f.search)
    if any(value is not None for value in others) or f.scores or f.matches:
        return None
    if (f.prompt_id is None) != (f.prompt_version is None):
        return None
    if f.model is not None and len(f.model) >= MAX_VALUE:
        return None
    chosen = [
        (dim, value)
        for dim, value in (("user", f.user_id), ("provider", f.provider))
        if value is not None
    ]
    if f.prompt_id is not None:
        chosen.append(("prompt", f"{f.prompt_id} v{f.prompt_version}"))
    chosen += [(f"property:{name}", value) for name, value in f.properties]
    if not chosen:
        return Target(f.model, "", "")
    if len(chosen) > 1 or len(chosen[0][1]) >= MAX_VALUE:
        return None
    dim, value = chosen[0]
    if f.model is not None and dim in NOT_PER_MODEL:
        return None
    return Target(f.model, dim, value)


def _by_day(span: Span) -> list[tuple[str, Span]]:
    """An hour-aligned span as its whole days ("daily") and the hours around them."""
    first = buckets.ceil(span.since, "day") if span.since else None
    last = buckets.floor(span.until, "day") if span.until else None
    if first is not None and last is not None and first >= last:
        return [("rollup", span)]
    pieces: list[tuple[str, Span]] = []
    if first is not None and span.since != first:
        pieces.append(("rollup", Span(span.since, first)))
    pieces.append(("daily", Span(first, last)))
    if last is not None and span.until != last:
        pieces.append(("rollup", Span(last, span.until)))
    return pieces


def group_sql(group_by: str) -> tuple[Any, Any]:
    """(expression, condition) grouping raw requests like the rollup dimension."""
    c = requests.c
    if group_by == "model":
        value = func.coalesce(c.request_model, c.response_model, "")
        return func.substr(value, 1, MAX_VALUE), None
    if group_by == "provider":
        return func.substr(c.provider, 1, MAX_VALUE), None
    if group_by == "user":
        return func.substr(c.user_id, 1, MAX_VALUE), c.user_id.is_not(None)
    if group_by == "prompt":
        version = c.prompt_id + " v" + cast(c.prompt_version, String)
        return func.substr(version, 1, MAX_VALUE), and_(
            c.prompt_id.is_not(None), c.prompt_version.is_not(None)
        )
    name = group_by.removeprefix("property:")
    value = c.properties[name].as_string()
    return func.substr(value, 1, MAX_VALUE), value.is_not(None)


def _kept(expression: Any, keep: Sequence[str] | None) -> Any:
    """``expression``, or None where its value is not one of ``keep``."""
    if keep is None:
        return expression
    if not keep:
        return null()
    return case((expression.in_(list(keep)), expression), else_=null())


def _totals(row: Any) -> Totals:
    # Postgres sums integers as numeric (Decimal): convert before any arithmetic.
    return Totals(
        requests=int(row.requests or 0),
        errors=int(row.errors or 0),
        rate_limited=int(row.rate_limited or 0),
        cache_hits=int(row.cache_hits or 0),
        prompt_tokens=int(row.prompt_tokens or 0),
        completion_tokens=int(row.completion_tokens or 0),
        total_tokens=int(row.total_tokens or 0),
        cost_usd=float(row.cost_usd or 0.0),
        latency_ms_sum=float(row.latency_ms_sum or 0.0),
        cache_read_tokens=int(row.cache_read_tokens or 0),
        cost_saved_usd=float(row.cost_saved_usd or 0.0),
        first_at=buckets.utc(row.first_at) if row.first_at else None,
        last_at=buckets.utc(row.last_at) if row.last_at else None,
    )


def _raw_columns() -> list[Any]:
    c = requests.c
    error = case((or_(c.status >= 400, c.error.is_not(None)), 1), else_=0)
    return [
        func.count().label("requests"),
        func.sum(error).label("errors"),
        func.sum(case((c.rate_limited.is_(True), 1), else_=0)).label("rate_limited"),
        func.sum(case((c.cache_hit.is_(True), 1), else_=0)).label("cache_hits"),
        func.sum(c.prompt_tokens).label("prompt_tokens"),
        func.sum(c.completion_tokens).label("completion_tokens"),
        func.sum(c.total_tokens).label("total_tokens"),
        func.sum(c.cost_usd).label("cost_usd"),
        func.sum(c.latency_ms).label("latency_ms_sum"),
        func.sum(c.cache_read_tokens).label("cache_read_tokens"),
        func.sum(c.cost_saved_usd).label("cost_saved_usd"),
        func.min(c.created_at).label("first_at"),
        func.max(c.created_at).label("last_at"),
    ]


def _rollup_columns(r: Any) -> list[Any]:
    sums = [
        func.sum(r[name]).label(name)
        for name in (
            "requests",
            "errors",
            "rate_limited",
            "cache_hits",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "cost_usd",
            "latency_ms_sum",
            "cache_read_tokens",
            "cost_saved_usd",
        )
    ]
    return [*sums, func.min(r.first_at).label("first_at"), func.max(r.last_at).label("last_at")]


class Analytics:
    def __init__(self, database: Database, logs: LogStore | None = None) -> None:
        self.database = database
        self.dialect = database.dialect
        self.logs = logs
        """Where the records live when not in ``database`` (ClickHouse): the scores'
        charts are read there (``analytics.scores``)."""

    async def aggregate(
        self,
        org_id: str,
        f: RequestFilter,
        *,
        group_by: str | None = None,
        granularity: str | None = None,
        keep: Sequence[str] | None = None,
    ) -> dict[Key, Totals]:
        """Totals per (bucket, group) of the requests ``f`` selects. With ``keep``, the
        groups not in it are added up in the database under the group None, so a
        chart of the top groups reads a few rows a bucket, not one per group."""
        target = rollup_target(f)
        usable = target is not None and granularity != "minute" and target.groups(group_by)
        pieces: list[tuple[str, Span]] = []
        daily = target is not None and target.model is None and granularity in (None, "day")
        if not usable:
            pieces.append(("raw", Span(f.since, f.until)))
        else:
            first = buckets.ceil(f.since, "hour") if f.since else None
            last = buckets.floor(f.until, "hour") if f.until else None
            if first is not None and last is not None and first >= last:
                pieces.append(("raw", Span(f.since, f.until)))
            else:
                if first is not None and f.since != first:
                    pieces.append(("raw", Span(f.since, first)))
                whole = Span(first, last)
                pieces.extend(_by_day(whole) if daily else [("rollup", whole)])
                if last is not None and f.until != last:
                    pieces.append(("raw", Span(last, f.until)))
        result: dict[Key, Totals] = {}
        async with self.database.connect() as conn:
            for kind, span in pieces:
                if kind == "raw":
                    rows = await self._raw(conn, org_id, f, span, group_by, granularity, keep)
                else:
                    assert target is not None
                    if group_by:
                        target = Target(target.model, group_by, "")
                    if target.model is not None:
                        table = model_rollups
                    else:
                        table = daily_rollups if kind == "daily" else request_rollups
                    rows = await self._rollup(
                        conn, org_id, table, target, span, granularity, keep, grouped=bool(group_by)
                    )
                for key, totals in rows:
                    if key in result:
                        result[key].merge(totals)
                    else:
                        result[key] = totals
        return result

    async def _raw(
        self,
        conn: AsyncConnection,
        org_id: str,
        f: RequestFilter,
        span: Span,
        group_by: str | None,
        granularity: str | None,
        keep: Sequence[str] | None = None,
    ) -> list[tuple[Key, Totals]]:
        keys: list[Any] = []
        conditions = request_conditions(
            replace(f, since=span.since, until=span.until), self.dialect
        )
        if granularity:
            keys.append(buckets.expression(requests.c.created_at, granularity, self.dialect))
        if group_by:
            expression, condition = group_sql(group_by)
            keys.append(_kept(expression, keep))
            if condition is not None:
                conditions.append(condition)
        labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
        query = select(*labelled, *_raw_columns()).where(requests.c.org_id == org_id, *conditions)
        if labelled:
            query = query.group_by(*labelled)
        rows = (await conn.execute(query)).all()
        return [
            (self._key(row, granularity, group_by), _totals(row)) for row in rows if row.requests
        ]

    async def _rollup(
        self,
        conn: AsyncConnection,
        org_id: str,
        table: Any,
        target: Target,
        span: Span,
        granularity: str | None,
        keep: Sequence[str] | None,
        *,
        grouped: bool,
    ) -> list[tuple[Key, Totals]]:
        """Totals per (bucket, value of ``target.dim`` when ``grouped``) of the whole
        hours (days, from ``daily_rollups``) in ``span``."""
        r = table.c
        conditions = [r.org_id == org_id, r.dim == target.dim]
        if target.model is not None:
            conditions.append(r.model == target.model)
        if not grouped:
            conditions.append(r.value == target.value)
        if span.since is not None:
            conditions.append(r.bucket >= span.since)
        if span.until is not None:
            conditions.append(r.bucket < span.until)
        keys: list[Any] = []
        if granularity:
            keys.append(buckets.expression(r.bucket, granularity, self.dialect, hourly=True))
        if grouped:
            keys.append(_kept(r.value, keep))
        labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
        query = select(*labelled, *_rollup_columns(r)).where(*conditions)
        if labelled:
            query = query.group_by(*labelled)
        rows = (await conn.execute(query)).all()
        group = target.dim if grouped else None
        return [(self._key(row, granularity, group), _totals(row)) for row in rows if row.requests]

    @staticmethod
    def _key(row: Any, granularity: str | None, group_by: str | None) -> Key:
        i = 0
        bucket = None
        if granularity:
            bucket = buckets.parse(row[0])
            i = 1
        group = row[i] if group_by else None
        return bucket, group

    async def latency(
        self,
        org_id: str,
        f: RequestFilter,
        *,
        granularity: str,
        group_by: str | None = None,
    ) -> dict[Key, tuple[int, list[float]]]:
        """(requests, [p50, p95, p99] latency ms) per (bucket, group)."""
        async with self.database.connect() as conn:
            if self.dialect == "postgresql":
                return await self._latency_postgres(conn, org_id, f, granularity, group_by)
            out: dict[Key, tuple[int, list[float]]] = {}
            raw_spans = [Span(f.since, f.until)]
            if (
                granularity != "minute"
                and group_by is None
                and rollup_target(f) == Target(None, "", "")
                and f.since is not None
                and f.until is not None
            ):
                first = buckets.ceil(f.since, granularity)
                last = buckets.floor(f.until, granularity)
                if first < last:
                    histograms = await percentiles.histogram_buckets(
                        conn, org_id, first, last, granularity
                    )
                    found = await percentiles.sqlite_indexed(conn, org_id, histograms, granularity)
                    out.update({(start, None): value for start, value in found.items()})
                    raw_spans = [
                        span
                        for span in (Span(f.since, first), Span(last, f.until))
                        if span.since < span.until  # type: ignore[operator]
                    ]
            for span in raw_spans:
                out.update(await self._latency_sorted(conn, org_id, f, span, granularity, group_by))
            return out

    async def _latency_sorted(
        self,
        conn: AsyncConnection,
        org_id: str,
        f: RequestFilter,
        span: Span,
        granularity: str,
        group_by: str | None,
    ) -> dict[Key, tuple[int, list[float]]]:
        conditions = request_conditions(
            replace(f, since=span.since, until=span.until), self.dialect
        )
        keys: list[Any] = [buckets.expression(requests.c.created_at, granularity, self.dialect)]
        if group_by:
            expression, condition = group_sql(group_by)
            keys.append(expression)
            if condition is not None:
                conditions.append(condition)
        query = (
            select(*keys, requests.c.latency_ms)
            .where(requests.c.org_id == org_id, *conditions)
            .order_by(*keys, requests.c.latency_ms)
        )
        values: dict[Key, list[float]] = defaultdict(list)
        for row in await conn.execute(query):
            key = (buckets.parse(row[0]), row[1] if group_by else None)
            values[key].append(row[-1])
        return {
            key: (len(sorted_values), percentiles.from_sorted(sorted_values))
            for key, sorted_values in values.items()
        }

    async def _latency_postgres(
        self,
        conn: AsyncConnection,
        org_id: str,
        f: RequestFilter,
        granularity: str,
        group_by: str | None,
    ) -> dict[Key, tuple[int, list[float]]]:
        conditions = request_conditions(f, self.dialect)
        keys: list[Any] = [buckets.expression(requests.c.created_at, granularity, self.dialect)]
        if group_by:
            expression, condition = group_sql(group_by)
            keys.append(expression)
            if condition is not None:
                conditions.append(condition)
        labelled = [key.label(f"k{i}") for i, key in enumerate(keys)]
        ps = [
            func.percentile_cont(p).within_group(requests.c.latency_ms)
            for p in percentiles.PERCENTILES
        ]
        query = (
            select(*labelled, func.count(), *ps)
            .where(requests.c.org_id == org_id, *conditions)
            .group_by(*labelled)
        )
        out: dict[Key, tuple[int, list[float]]] = {}
        for row in await conn.execute(query):
            key = (buckets.parse(row[0]), row[1] if group_by else None)
            out[key] = (row[len(keys)], [float(v) for v in row[len(keys) + 1 :]])
        return out

    async def property_names(self, org_id: str, span: Span) -> dict[str, tuple[int, int]]:
        """{name: (requests with it, distinct values)} over whole hours of ``span``
        from the rollups, plus the partial hours at its ends from the log."""
        r = request_rollups.c
        conditions = [r.org_id == org_id, r.dim.like("property:%")]
        first = buckets.ceil(span.since, "hour") if span.since else None
        last = buckets.floor(span.until, "hour") if span.until else None
        edges: list[Span] = []
        use_rollups = first is None or last is None or first < last
        if not use_rollups:
            edges = [span]
        else:
            if first is not None:
                conditions.append(r.bucket >= first)
                if span.since != first:
                    edges.append(Span(span.since, first))
            if last is not None:
                conditions.append(r.bucket < last)
                if span.until != last:
                    edges.append(Span(last, span.until))
        counts: dict[str, int] = defaultdict(int)
        values: dict[str, set[str]] = defaultdict(set)
        async with self.database.connect() as conn:
            if use_rollups:
                query = select(r.dim, r.value, func.sum(r.requests)).where(*conditions)
                for dim, value, n in await conn.execute(query.group_by(r.dim, r.value)):
                    name = dim.removeprefix("property:")
                    counts[name] += int(n)
                    values[name].add(value)
            for edge in edges:
                edge_query = select(requests.c.properties).where(
                    requests.c.org_id == org_id,
                    *request_conditions(
                        RequestFilter(since=edge.since, until=edge.until), self.dialect
                    ),
                )
                for (props,) in await conn.execute(edge_query):
                    for name, value in (props or {}).items():
                        counts[name] += 1
                        values[name].add(str(value)[:MAX_VALUE])
        return {name: (counts[name], len(values[name])) for name in counts}

    async def sessions(
        self,
        org_id: str,
        span: Span,
        *,
        user_id: str | None,
        name: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
    ) -> list[Any]:
        s = session_rollups.c
        conditions: list[Any] = [s.org_id == org_id]
        if span.since is not None:
            conditions.append(s.last_at >= span.since)
        if span.until is not None:
            conditions.append(s.first_at < span.until)
        if user_id is not None:
            conditions.append(s.user_id == user_id)
        if name is not None:
            conditions.append(s.name == name)
        if after is not None:
            last_at, session_id = after
            conditions.append(
                or_(s.last_at < last_at, and_(s.last_at == last_at, s.session_id < session_id))
            )
        query = (
            select(session_rollups)
            .where(*conditions)
            .order_by(s.last_at.desc(), s.session_id.desc())
            .limit(limit)
        )
        async with self.database.connect() as conn:
            return list((await conn.execute(query)).all())

    async def session(self, org_id: str, session_id: str, limit: int) -> tuple[Any, list[Any]]:
        s, c = session_rollups.c, requests.c
        columns = [
            c.id,
            c.created_at,
            c.status,
            c.error,
            c.provider,
            c.request_model,
            c.response_model,
            c.latency_ms,
            c.ttft_ms,
            c.prompt_tokens,
            c.completion_tokens,
            c.total_tokens,
            c.cost_usd,
            c.session_path,
            c.request_name,
            c.user_id,
            c.cache_hit,
        ]
        async with self.database.connect() as conn:
            summary = (
                await conn.execute(
                    select(session_rollups).where(s.org_id == org_id, s.session_id == session_id)
                )
            ).first()
            rows = (
                await conn.execute(
                    # created_at alone, so SQLite walks the (org, session, created_at) index
                    select(*columns)
                    .where(c.org_id == org_id, c.session_id == session_id)
                    .order_by(c.created_at)
                    .limit(limit)
                )
            ).all()
        return summary, list(rows)

    async def session_bodies(self, org_id: str, session_id: str, limit: int) -> list[Any]:
        """(id, request_body, response_body) of the session's first ``limit`` requests,
        in the order ``session`` lists them."""
        c = requests.c
        query = (
            select(c.id, c.request_body, c.response_body)
            .where(c.org_id == org_id, c.session_id == session_id)
            .order_by(c.created_at)
            .limit(limit)
        )
        async with self.database.connect() as conn:
            return list((await conn.execute(query)).all())


def top_groups(totals: dict[Key, Totals], metric: str, limit: int) -> list[str]:
    """The ``limit`` groups with the largest total ``metric``."""
    by_group: dict[str, float] = defaultdict(float)
    for (_bucket, group), t in totals.items():
        if group is not None:
            by_group[group] += metric_value(t, metric)
    return [g for g, _v in sorted(by_group.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def metric_value(t: Totals, metric: str) -> float:
    if metric == "cost":
        return t.cost_usd
    if metric == "requests":
        return t.requests
    if metric == "errors":
        return t.errors
    if metric == "tokens":
        return t.total_tokens
    if metric == "error_rate":
        return t.errors / t.requests if t.requests else 0.0
    if metric == "cache_hits":
        return t.cache_hits
    if metric == "cache_hit_rate":
        return t.cache_hits / t.requests if t.requests else 0.0
    if metric == "cost_saved":
        return t.cost_saved_usd
    if metric == "avg_latency":
        return t.latency_ms_sum / t.requests if t.requests else 0.0
    raise ValueError(metric)


def summary_json(t: Totals) -> dict[str, Any]:
    return {
        "requests": t.requests,
        "errors": t.errors,
        "error_rate": t.errors / t.requests if t.requests else 0.0,
        "rate_limited": t.rate_limited,
        "cache_hits": t.cache_hits,
        "cache_hit_rate": t.cache_hits / t.requests if t.requests else 0.0,
        "cost_saved_usd": t.cost_saved_usd,
        "cache_read_tokens": t.cache_read_tokens,
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "total_tokens": t.total_tokens,
        "cost_usd": t.cost_usd,
        "avg_latency_ms": t.latency_ms_sum / t.requests if t.requests else None,
        "first_at": t.first_at.isoformat() if t.first_at else None,
        "last_at": t.last_at.isoformat() if t.last_at else None,
    }


def merged(totals: dict[Key, Totals], keys: Sequence[Key]) -> Totals:
    out = Totals()
    for key in keys:
        if key in totals:
            out.merge(totals[key])
    return out
