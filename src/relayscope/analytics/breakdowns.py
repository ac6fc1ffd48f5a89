"""What the time series say beyond one number per bucket: percentiles split by group
(the top ``limit`` groups and the rest as "other"), time to first token, tokens by
kind, which buckets the range cuts short, and the explorer filter for each series."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, not_, select

from relayscope.analytics import buckets, percentiles
from relayscope.analytics.repository import Analytics, Key, group_sql
from relayscope.store.base import RequestFilter
from relayscope.store.rollup import MAX_VALUE, Totals
from relayscope.store.schema import requests
from relayscope.store.sql import request_conditions

STATS = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
LATENCY_STATS = ("p50", "p95", "p99")
TTFT_STATS = ("p50", "p95")
TOKEN_KINDS = ("prompt", "cached", "completion")
"""``prompt``: input tokens the provider processed; ``cached``: input tokens it read
from its prompt cache (both together are the record's prompt tokens)."""


@dataclass(frozen=True, slots=True)
class Cells:
    """Percentiles per (bucket, group); group None is "other" when grouped."""

    groups: list[str | None]
    values: dict[Key, list[float]]


def _measured(column: str) -> tuple[Any, list[Any]]:
    """The column whose percentiles are asked for and which requests have one."""
    c = requests.c
    if column == "ttft_ms":
        return c.ttft_ms, [c.stream.is_(True), c.ttft_ms.is_not(None)]
    return c.latency_ms, []


async def percentile_cells(
    analytics: Analytics,
    org_id: str,
    f: RequestFilter,
    *,
    column: str,
    granularity: str,
    group_by: str | None,
    limit: int,
    stats: tuple[str, ...],
) -> Cells:
    """Exact percentiles (``percentile_cont``'s interpolation) of ``column`` per bucket,
    for all requests or for the ``limit`` groups with the most requests plus the rest."""
    measured, conditions = _measured(column)
    conditions = [
        requests.c.org_id == org_id,
        *request_conditions(f, analytics.dialect),
        *conditions,
    ]
    bucket = buckets.expression(requests.c.created_at, granularity, analytics.dialect)
    ps = [STATS[s] for s in stats]
    group: Any = None
    if group_by is not None:
        group, condition = group_sql(group_by)
        if condition is not None:
            conditions.append(condition)
    async with analytics.database.connect() as conn:
        if analytics.dialect != "postgresql":
            keys = [bucket] if group is None else [bucket, group]
            found: dict[Key, list[float]] = defaultdict(list)
            for row in await conn.execute(select(*keys, measured).where(*conditions)):
                found[(buckets.parse(row[0]), row[1] if group is not None else None)].append(
                    float(row[-1])
                )
            return _from_values(found, group_by, limit, ps)
        cuts = [func.percentile_cont(p).within_group(measured) for p in ps]
        values: dict[Key, list[float]] = {}
        if group is None:
            query = select(bucket, *cuts).where(*conditions).group_by(bucket)
            for row in await conn.execute(query):
                values[(buckets.parse(row[0]), None)] = [float(v) for v in row[1:]]
            return Cells([None], values)
        counts = {
            row[0]: int(row[1])
            for row in await conn.execute(
                select(group, func.count()).where(*conditions).group_by(group)
            )
        }
        top = _top(counts, limit)
        if top:
            query = (
                select(bucket, group, *cuts)
                .where(*conditions, group.in_(top))
                .group_by(bucket, group)
            )
            for row in await conn.execute(query):
                values[(buckets.parse(row[0]), row[1])] = [float(v) for v in row[2:]]
        groups: list[str | None] = list(top)
        if len(counts) > len(top):
            query = select(bucket, *cuts).where(*conditions, not_(group.in_(top))).group_by(bucket)
            for row in await conn.execute(query):
                values[(buckets.parse(row[0]), None)] = [float(v) for v in row[1:]]
            groups.append(None)
        return Cells(groups, values)


def _top(counts: dict[str, int], limit: int) -> list[str]:
    return [g for g, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]


def _from_values(
    found: dict[Key, list[float]], group_by: str | None, limit: int, ps: list[float]
) -> Cells:
    if group_by is None:
        cells: dict[Key, list[float]] = {
            key: percentiles.from_sorted(sorted(v), ps) for key, v in found.items()
        }
        return Cells([None], cells)
    counts: dict[str, int] = defaultdict(int)
    for (_start, group), values in found.items():
        assert group is not None
        counts[group] += len(values)
    top = _top(counts, limit)
    chosen = set(top)
    merged: dict[Key, list[float]] = defaultdict(list)
    for (start, group), values in found.items():
        merged[(start, group if group in chosen else None)].extend(values)
    groups: list[str | None] = list(top)
    if len(counts) > len(top):
        groups.append(None)
    return Cells(groups, {key: percentiles.from_sorted(sorted(v), ps) for key, v in merged.items()})


def percentile_series(
    cells: Cells, stats: tuple[str, ...], grouped: bool, starts: list[datetime]
) -> list[dict[str, Any]]:
    out = []
    for group in cells.groups:
        for i, stat in enumerate(stats):
            values = []
            for start in starts:
                hit = cells.values.get((start, group))
                values.append(round(hit[i], 3) if hit else None)
            if not grouped:
                name = stat
            else:
                name = f"{'other' if group is None else group or '(none)'} {stat}"
            out.append({"name": name, "group": group, "stat": stat, "values": values})
    return out


def token_kind_series(totals: dict[Key, Totals], starts: list[datetime]) -> list[dict[str, Any]]:
    """Prompt tokens not read from the provider's cache, cached prompt tokens and
    completion tokens per bucket: stacked, they are the prompt plus completion tokens."""
    cells = [totals.get((start, None), Totals()) for start in starts]
    kinds = {
        "prompt": [max(t.prompt_tokens - t.cache_read_tokens, 0) for t in cells],
        "cached": [t.cache_read_tokens for t in cells],
        "completion": [t.completion_tokens for t in cells],
    }
    return [{"name": kind, "group": None, "values": kinds[kind]} for kind in TOKEN_KINDS]


def partial(
    since: datetime, until: datetime, starts: list[datetime], granularity: str
) -> list[bool]:
    """Which buckets the range covers only in part (its first and last may)."""
    step = buckets.GRANULARITIES[granularity]
    return [start < since or start + step > until for start in starts]


def spans(
    since: datetime, until: datetime, starts: list[datetime], granularity: str
) -> list[list[str]]:
    """The time each bucket covers within the range: [from, to)."""
    step = buckets.GRANULARITIES[granularity]
    return [
        [max(start, since).isoformat(), min(start + step, until).isoformat()] for start in starts
    ]


def explore_filter(group_by: str | None, group: str | None) -> dict[str, str] | None:
    """The explorer's query parameters that select exactly one series' requests
    (besides time), or None when no filter can ("other", a value cut short)."""
    if group_by is None:
        return {}
    if not group or len(group) >= MAX_VALUE:
        return None
    if group_by == "model":
        return {"model": group}
    if group_by == "provider":
        return {"provider": group}
    if group_by == "user":
        return {"user_id": group}
    if group_by == "prompt":
        prompt_id, _sep, version = group.rpartition(" v")
        return {"prompt_id": prompt_id, "prompt_version": version} if prompt_id else None
    return {"property." + group_by.removeprefix("property:"): group}
