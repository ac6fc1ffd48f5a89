"""The analytics page's charts: which time series each panel asks the JSON API for,
the panel controls (top N, latency percentile) and where a click on a point leads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from relayscope.analytics import service
from relayscope.analytics.repository import Analytics
from relayscope.api import params

TOP_CHOICES = (5, 10, 20)
DEFAULT_TOP = 10
LATENCY_STAT_CHOICES = ("avg", "p50", "p95", "p99")
DEFAULT_LATENCY_STAT = "avg"
"""The average comes from the hourly rollups; a percentile reads the range's requests."""
CONTROLS = ("top", "latency_stat")
"""The page's panel controls: not request filters, so never passed on to the API."""


@dataclass(frozen=True, slots=True)
class Options:
    group_by: str
    top: int
    latency_stat: str
    score: str | None


@dataclass(frozen=True, slots=True)
class Panel:
    key: str
    """Names the canvas (``chart-<key>``) and how the browser draws it (static/analytics.js)."""
    title: str
    query: list[tuple[str, str]]


def options(query: QueryParams, group_by: str, score: str | None) -> Options:
    top = params.integer(query, "top", default=DEFAULT_TOP, low=1, high=50)
    assert top is not None
    if top not in TOP_CHOICES:
        raise params.bad("top", f"must be one of {', '.join(map(str, TOP_CHOICES))}")
    stat = query.get("latency_stat", DEFAULT_LATENCY_STAT)
    if stat not in LATENCY_STAT_CHOICES:
        raise params.bad("latency_stat", f"must be one of {', '.join(LATENCY_STAT_CHOICES)}")
    return Options(group_by=group_by, top=top, latency_stat=stat, score=score)


def group_label(group_by: str) -> str:
    if group_by.startswith("property:"):
        return "property " + group_by.removeprefix("property:")
    return group_by


def _stat_title(stat: str) -> str:
    return "average" if stat == "avg" else stat.upper()


def _latency_metric(stat: str) -> list[tuple[str, str]]:
    if stat == "avg":
        return [("metric", "avg_latency")]
    return [("metric", "latency"), ("stat", stat)]


def panels(o: Options) -> list[Panel]:
    grouped = [("group_by", o.group_by), ("limit", str(o.top))]
    by = group_label(o.group_by)
    out = [
        Panel("cost", f"Cost (USD) by {by}, top {o.top}", [("metric", "cost"), *grouped]),
        Panel("requests", "Requests (all)", [("metric", "requests")]),
        Panel("tokens", "Tokens: prompt, cached prompt, completion", [("metric", "token_kinds")]),
        Panel("cache_hit_rate", "Cache hit rate (%)", [("metric", "cache_hit_rate")]),
        Panel("cost_saved", "Cost saved by cache hits (USD)", [("metric", "cost_saved")]),
        Panel("latency", "Latency P50 / P95 / P99 (ms)", [("metric", "latency")]),
        Panel(
            "latency_group",
            f"Latency {_stat_title(o.latency_stat)} by {by}, top {o.top} (ms)",
            [*_latency_metric(o.latency_stat), *grouped],
        ),
        Panel("ttft", "Time to first token P50 / P95, streams (ms)", [("metric", "ttft")]),
        Panel("error_rate", "Error rate (%)", [("metric", "error_rate")]),
    ]
    if o.score is not None:
        out.append(
            Panel(
                "score",
                f"Average score {o.score} by {by}, top {o.top}",
                [("metric", f"score.{o.score}"), *grouped],
            )
        )
    return out


async def build(
    analytics: Analytics, org_id: str, base: list[tuple[str, str]], o: Options
) -> list[dict[str, Any]]:
    """Each panel with its series and the API call that gives them."""
    out = []
    for panel in panels(o):
        query = QueryParams([*base, *panel.query])
        out.append(
            {
                "key": panel.key,
                "title": panel.title,
                "data": await service.timeseries(analytics, org_id, query),
                "api": "/api/analytics/timeseries?" + str(query),
            }
        )
    return out


def explorer_base(filters: list[tuple[str, str]]) -> str:
    """The page's request filters, as the explorer's query: a click on a point adds
    the bucket's time range and the series' group to them."""
    return urlencode(filters)
