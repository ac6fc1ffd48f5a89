"""Exact latency percentiles (linear interpolation between closest ranks, as
Postgres' ``percentile_cont`` and numpy's default).

Postgres computes them itself. SQLite has no such function and sorting a million
rows per query takes seconds, so for whole hours or days with no other filter the
work is split: ``latency_histogram`` (requests per org, hour and latency bin) says
how many requests are faster than the start of the bin holding rank ``k``; an
expression index on (org, hour or day, latency) lets SQLite seek straight to that
latency and step the few remaining ranks. Buckets cut by the range's ends, minute
buckets, and filtered or grouped queries read their rows sorted and pick the ranks
in Python: still exact, only slower on large ranges.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from relayscope.analytics import buckets
from relayscope.store.rollup import MIN_BIN, bin_floor
from relayscope.store.schema import latency_histogram

PERCENTILES = (0.5, 0.95, 0.99)
_COMPOUND_LIMIT = 450  # SQLite allows 500 SELECTs in one UNION ALL by default


def position(p: float, n: int) -> tuple[int, float]:
    """Rank (0-based) below the ``p`` percentile of ``n`` values, and the fraction
    of the way to the next rank."""
    exact = p * (n - 1)
    rank = math.floor(exact)
    return rank, exact - rank


def from_sorted(values: Sequence[float], ps: Sequence[float] = PERCENTILES) -> list[float]:
    n = len(values)
    out = []
    for p in ps:
        rank, frac = position(p, n)
        low = values[rank]
        high = values[rank + 1] if frac and rank + 1 < n else low
        out.append(low + (high - low) * frac)
    return out


@dataclass(frozen=True, slots=True)
class _Lookup:
    start: datetime
    index: int
    frac: float
    key: str
    bin: int
    offset: int
    """Rank within the rows at or above the bin's floor."""


async def histogram_buckets(
    conn: AsyncConnection, org_id: str, since: datetime, until: datetime, granularity: str
) -> dict[datetime, dict[int, int]]:
    """Requests per latency bin for each ``granularity`` bucket in [since, until)
    (both on bucket boundaries)."""
    h = latency_histogram.c
    start = buckets.expression(h.bucket, granularity, conn.dialect.name, hourly=True).label("start")
    query = (
        select(start, h.bin, func.sum(h.requests))
        .where(h.org_id == org_id, h.bucket >= since, h.bucket < until)
        .group_by(start, h.bin)
    )
    result: dict[datetime, dict[int, int]] = defaultdict(dict)
    for key, b, n in await conn.execute(query):
        result[buckets.parse(key)][b] = int(n)
    return result


async def sqlite_indexed(
    conn: AsyncConnection,
    org_id: str,
    histograms: dict[datetime, dict[int, int]],
    granularity: str,
    ps: Sequence[float] = PERCENTILES,
) -> dict[datetime, tuple[int, list[float]]]:
    """Exact percentiles of whole hour or day buckets, guided by their histograms."""
    prefix = buckets.sqlite_prefix(granularity)
    index = "ix_requests_hour_latency" if granularity == "hour" else "ix_requests_day_latency"
    lookups: list[_Lookup] = []
    for start, bins in histograms.items():
        n = sum(bins.values())
        ordered = sorted(bins.items())
        for i, p in enumerate(ps):
            rank, frac = position(p, n)
            below = 0
            for b, count in ordered:
                if below + count > rank:
                    lookups.append(
                        _Lookup(
                            start, i, frac, buckets.sqlite_key(start, granularity), b, rank - below
                        )
                    )
                    break
                below += count
    answers: dict[tuple[datetime, int], float] = {}
    for chunk_start in range(0, len(lookups), _COMPOUND_LIMIT):
        chunk = lookups[chunk_start : chunk_start + _COMPOUND_LIMIT]
        parts: list[str] = []
        params: list[Any] = []
        for j, look in enumerate(chunk):
            seek = "" if look.bin <= MIN_BIN else " AND latency_ms >= ?"
            parts.append(
                f"SELECT {j} AS j, latency_ms FROM (SELECT latency_ms FROM requests "
                f"INDEXED BY {index} WHERE org_id = ? "
                f"AND substr(created_at, 1, {prefix}) = ?{seek} "
                f"ORDER BY latency_ms LIMIT 2 OFFSET ?)"
            )
            params += [org_id, look.key]
            if look.bin > MIN_BIN:
                params.append(bin_floor(look.bin))
            params.append(look.offset)
        found: dict[int, list[float]] = defaultdict(list)
        result = await conn.exec_driver_sql(" UNION ALL ".join(parts), tuple(params))
        for row in result.mappings():
            found[row["j"]].append(row["latency_ms"])
        for j, look in enumerate(chunk):
            values = sorted(found[j])
            low = values[0]
            high = values[1] if look.frac and len(values) > 1 else low
            answers[(look.start, look.index)] = low + (high - low) * look.frac
    out: dict[datetime, tuple[int, list[float]]] = {}
    for start, bins in histograms.items():
        n = sum(bins.values())
        if n:
            out[start] = (n, [answers[(start, i)] for i in range(len(ps))])
    return out
