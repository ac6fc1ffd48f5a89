"""Query parameters in, JSON documents out: shared by ``/api/...`` and the dashboard,
so every number on a page is the number the API gives for the same filters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.datastructures import QueryParams

from relayscope.analytics import breakdowns, buckets
from relayscope.analytics.repository import (
    Analytics,
    Key,
    Span,
    metric_value,
    rollup_target,
    summary_json,
    top_groups,
)
from relayscope.analytics.scores import ScoreTotals, score_names, score_totals
from relayscope.api import params
from relayscope.api.requests import FILTER_PREFIXES, parse_filter
from relayscope.api.text_filters import TEXT_PARAMS
from relayscope.errors import NotFound
from relayscope.proxy.tags import property_name
from relayscope.store import scores
from relayscope.store.base import RequestFilter
from relayscope.store.rollup import Totals

FILTERS = {
    "user_id",
    "session_id",
    "model",
    "provider",
    "status",
    "request_name",
    "prompt_id",
    "prompt_version",
    "search",
    "from",
    "to",
    "feedback",
    "range",
} | TEXT_PARAMS
METRICS = {
    "cost": "USD",
    "requests": "requests",
    "errors": "requests",
    "error_rate": "fraction",
    "tokens": "tokens",
    "latency": "ms",
    "avg_latency": "ms",
    "token_kinds": "tokens",
    "cache_hits": "requests",
    "cache_hit_rate": "fraction",
    "cost_saved": "USD",
    "ttft": "ms",
}
PERCENTILE_METRICS = {"latency": breakdowns.LATENCY_STATS, "ttft": breakdowns.TTFT_STATS}
RATE_METRICS = ("error_rate", "cache_hit_rate", "avg_latency")
"""Per-request values: None where a bucket has no requests; groups ranked by requests."""
MAX_BUCKETS = 2000
FEW_BUCKETS = 100
"""Up to this many buckets a chart by group reads every (bucket, group) pair at once."""
DEFAULT_SPAN = timedelta(days=7)
_SORTS = ("cost", "requests", "errors", "error_rate", "tokens", "last_seen", "avg_latency")


def now() -> datetime:
    return datetime.now(UTC)


def _filters(query: QueryParams, extra: set[str]) -> RequestFilter:
    params.reject_unknown(query, FILTERS | extra, FILTER_PREFIXES)
    f = parse_filter(query)
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise params.bad("to", "must be later than 'from'")
    return f


def _choice(query: QueryParams, name: str, choices: tuple[str, ...], default: str) -> str:
    value = query.get(name, default)
    if value not in choices:
        raise params.bad(name, f"must be one of {', '.join(choices)}")
    return value


def _group_by(query: QueryParams) -> str | None:
    value = query.get("group_by")
    if value is None or value in ("model", "provider", "user", "prompt"):
        return value
    if value.startswith("property:") and value != "property:":
        return "property:" + property_name(value.removeprefix("property:"))
    raise params.bad("group_by", "must be model, provider, user, prompt or property:<name>")


SCORE_METRIC = "score."
"""``metric=score.<name>``: the average of that score (feedback: ``score.helicone-feedback``)."""


def _metric(query: QueryParams) -> str:
    value = query.get("metric", "requests")
    if value.startswith(SCORE_METRIC):
        problem = scores.name_problem(value.removeprefix(SCORE_METRIC))
        if problem is not None:
            raise params.bad("metric", problem)
        return value
    if value not in METRICS:
        raise params.bad("metric", f"must be one of {', '.join(METRICS)} or score.<name>")
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def summary(analytics: Analytics, org_id: str, query: QueryParams) -> dict[str, Any]:
    f = _filters(query, set())
    totals = await analytics.aggregate(org_id, f)
    body = summary_json(totals.get((None, None), Totals()))
    return {"from": _iso(f.since), "to": _iso(f.until), **body}


def auto_granularity(span: timedelta) -> str:
    if span <= timedelta(hours=6):
        return "minute"
    if span <= timedelta(days=31):
        return "hour"
    return "day"


async def timeseries(analytics: Analytics, org_id: str, query: QueryParams) -> dict[str, Any]:
    f = _filters(query, {"metric", "group_by", "granularity", "limit", "stat"})
    metric = _metric(query)
    group_by = _group_by(query)
    stats = _stats(query, metric)
    if metric == "token_kinds" and group_by is not None:
        raise params.bad("group_by", "token_kinds is split by kind; it takes no group_by")
    limit = params.integer(query, "limit", default=8, low=1, high=50)
    assert limit is not None
    until = f.until or now()
    since = f.since or until - DEFAULT_SPAN
    if since >= until:
        raise params.bad("from", "must be earlier than 'to'")
    granularity = query.get("granularity") or auto_granularity(until - since)
    if granularity not in buckets.GRANULARITIES:
        raise params.bad("granularity", "must be minute, hour or day")
    if buckets.count(since, until, granularity) > MAX_BUCKETS:
        raise params.bad(
            "granularity",
            f"gives more than {MAX_BUCKETS} buckets for this range; pick a coarser one",
        )
    f = RequestFilter(**{**_as_dict(f), "since": since, "until": until})
    starts = list(buckets.starts(since, until, granularity))
    series: list[dict[str, Any]]
    if metric == "latency" and group_by is None:
        series = await _latency_series(analytics, org_id, f, granularity, stats, starts)
    elif metric in PERCENTILE_METRICS:
        cells = await breakdowns.percentile_cells(
            analytics,
            org_id,
            f,
            column="ttft_ms" if metric == "ttft" else "latency_ms",
            granularity=granularity,
            group_by=group_by,
            limit=limit,
            stats=stats,
        )
        series = breakdowns.percentile_series(cells, stats, group_by is not None, starts)
    elif metric == "token_kinds":
        totals = await analytics.aggregate(org_id, f, granularity=granularity)
        series = breakdowns.token_kind_series(totals, starts)
    elif metric.startswith(SCORE_METRIC):
        found = await score_totals(
            analytics,
            org_id,
            f,
            metric.removeprefix(SCORE_METRIC),
            granularity=granularity,
            group_by=group_by,
        )
        series = _score_series(found, metric, group_by, limit, starts)
    else:
        keep = None
        target = rollup_target(f)
        rolled_up = target is not None and target.groups(group_by)
        if group_by is not None and rolled_up and len(starts) > FEW_BUCKETS:
            # The top groups first, over the whole range (one row a group), then the
            # buckets of those alone, the rest summed in the database: an hourly chart by
            # user no longer turns every (hour, user) pair into Python objects. With few
            # buckets those pairs are few, and a second read of the rows would cost more
            # (as it would when only the log can answer the filter).
            overall = await analytics.aggregate(org_id, f, group_by=group_by)
            keep = top_groups(overall, _ranked_by(metric), limit)
        totals = await analytics.aggregate(
            org_id, f, group_by=group_by, granularity=granularity, keep=keep
        )
        series = _series(totals, metric, group_by, limit, starts)
    return {
        "metric": metric,
        "unit": METRICS.get(metric, "score"),
        "granularity": granularity,
        "group_by": group_by,
        "from": since.isoformat(),
        "to": until.isoformat(),
        "buckets": [start.isoformat() for start in starts],
        "partial": breakdowns.partial(since, until, starts, granularity),
        "spans": breakdowns.spans(since, until, starts, granularity),
        "series": [_explorable(s, group_by) for s in series],
    }


def _stats(query: QueryParams, metric: str) -> tuple[str, ...]:
    """The percentiles a latency or TTFT series shows: all it has, or ``stat``."""
    stat = query.get("stat")
    choices = PERCENTILE_METRICS.get(metric)
    if stat is None:
        return choices or ()
    if choices is None:
        raise params.bad("stat", "only latency and ttft have percentiles")
    if stat not in choices:
        raise params.bad("stat", f"must be one of {', '.join(choices)} for {metric}")
    return (stat,)


def _explorable(series: dict[str, Any], group_by: str | None) -> dict[str, Any]:
    """Adds ``filter``: the explorer parameters for the series' requests (None: "other")."""
    group = series["group"]
    grouped_other = group_by is not None and group is None
    series["filter"] = None if grouped_other else breakdowns.explore_filter(group_by, group)
    return series


def _as_dict(f: RequestFilter) -> dict[str, Any]:
    return {name: getattr(f, name) for name in f.__dataclass_fields__}


def _ranked_by(metric: str) -> str:
    """What ranks the groups of a ``metric`` chart: a sum, so the ranking over the whole
    range is the ranking over its buckets added up."""
    return "requests" if metric in RATE_METRICS else metric


def _series(
    totals: dict[Key, Totals],
    metric: str,
    group_by: str | None,
    limit: int,
    starts: list[datetime],
) -> list[dict[str, Any]]:
    if group_by is None:
        values = [_value(totals.get((start, None)), metric) for start in starts]
        return [{"name": metric, "group": None, "values": values}]
    top = top_groups(totals, _ranked_by(metric), limit)
    chosen = set(top)
    others: dict[datetime | None, Totals] = {}
    for (start, group), t in totals.items():
        if group not in chosen:
            others.setdefault(start, Totals()).merge(t)
    out: list[dict[str, Any]] = [
        {
            "name": group or "(none)",
            "group": group,
            "values": [_value(totals.get((start, group)), metric) for start in starts],
        }
        for group in top
    ]
    if others:
        out.append(
            {
                "name": "other",
                "group": None,
                "values": [_value(others.get(start), metric) for start in starts],
            }
        )
    return out


def _score_series(
    found: dict[Key, ScoreTotals],
    metric: str,
    group_by: str | None,
    limit: int,
    starts: list[datetime],
) -> list[dict[str, Any]]:
    """Average per bucket (None where nothing was scored) for the ``limit`` groups with
    the most scored requests, and the rest as "other"; each series says how many
    requests its averages are of."""
    by_group: dict[str | None, dict[datetime | None, ScoreTotals]] = {}
    for (start, group), t in found.items():
        by_group.setdefault(group, {})[start] = t
    counts = {g: sum(t.scored for t in per.values()) for g, per in by_group.items()}
    top = sorted(counts, key=lambda g: (-counts[g], g or ""))
    chosen, rest = top[:limit], top[limit:]
    if group_by is None:
        chosen, rest = [None], []
    groups: list[tuple[str, str | None, dict[datetime | None, ScoreTotals]]] = [
        (metric if group_by is None else group or "(none)", group, by_group.get(group, {}))
        for group in chosen
    ]
    if rest:
        other: dict[datetime | None, ScoreTotals] = {}
        for group in rest:
            for start, t in by_group[group].items():
                other.setdefault(start, ScoreTotals()).merge(t)
        groups.append(("other", None, other))
    out = []
    for name, group, per in groups:
        cells = [per.get(start) for start in starts]
        out.append(
            {
                "name": name,
                "group": group,
                "values": [None if c is None else round(c.average or 0.0, 6) for c in cells],
                "counts": [0 if c is None else c.scored for c in cells],
            }
        )
    return out


async def score_summary(analytics: Analytics, org_id: str, query: QueryParams) -> dict[str, Any]:
    """Every score name on the selected requests, with its count and average."""
    f = _filters(query, set())
    return {"data": await score_names(analytics, org_id, f)}


def _value(t: Totals | None, metric: str) -> float | None:
    if t is None:
        return None if metric in RATE_METRICS else 0
    if metric in RATE_METRICS and not t.requests:
        return None
    return metric_value(t, metric)


async def _latency_series(
    analytics: Analytics,
    org_id: str,
    f: RequestFilter,
    granularity: str,
    stats: tuple[str, ...],
    starts: list[datetime],
) -> list[dict[str, Any]]:
    """Ungrouped latency percentiles: the SQLite path seeks them through the
    latency histogram instead of sorting every request of the range."""
    found = await analytics.latency(org_id, f, granularity=granularity)
    out = []
    for i, stat in enumerate(breakdowns.LATENCY_STATS):
        if stat not in stats:
            continue
        values = []
        for start in starts:
            hit = found.get((start, None))
            values.append(round(hit[1][i], 3) if hit else None)
        out.append({"name": stat, "group": None, "stat": stat, "values": values})
    return out


async def users(analytics: Analytics, org_id: str, query: QueryParams) -> dict[str, Any]:
    f = _filters(query, {"sort", "limit", "offset"})
    totals = await analytics.aggregate(org_id, f, group_by="user")
    rows = [_entity(group, t) for (_b, group), t in totals.items() if group is not None]
    return _page(query, rows, "user_id")


async def properties(analytics: Analytics, org_id: str, query: QueryParams) -> dict[str, Any]:
    params.reject_unknown(query, {"from", "to"})
    f = parse_filter(query)
    names = await analytics.property_names(org_id, Span(f.since, f.until))
    rows = [
        {"name": name, "requests": n, "values": distinct}
        for name, (n, distinct) in sorted(names.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    return {"data": rows}


async def property_values(
    analytics: Analytics, org_id: str, name: str, query: QueryParams
) -> dict[str, Any]:
    f = _filters(query, {"sort", "limit", "offset"})
    name = property_name(name)
    totals = await analytics.aggregate(org_id, f, group_by=f"property:{name}")
    rows = [_entity(group, t) for (_b, group), t in totals.items() if group is not None]
    result = _page(query, rows, "value")
    result["name"] = name
    return result


def _entity(group: str, t: Totals) -> dict[str, Any]:
    body = summary_json(t)
    return {
        "key": group,
        **{k: body[k] for k in _ENTITY_FIELDS},
        "first_seen": body["first_at"],
        "last_seen": body["last_at"],
    }


_ENTITY_FIELDS = (
    "requests",
    "errors",
    "error_rate",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "avg_latency_ms",
)


def _page(query: QueryParams, rows: list[dict[str, Any]], key_name: str) -> dict[str, Any]:
    sort = _choice(query, "sort", _SORTS, "cost")
    limit = params.integer(query, "limit", default=50, low=1, high=1000)
    offset = params.integer(query, "offset", default=0, low=0, high=10**9)
    assert limit is not None and offset is not None
    field = {
        "cost": "cost_usd",
        "tokens": "total_tokens",
        "last_seen": "last_seen",
        "avg_latency": "avg_latency_ms",
    }.get(sort, sort)
    rows.sort(key=lambda r: (r[field] is not None, r[field] or 0, r["key"]), reverse=True)
    for row in rows:
        row[key_name] = row.pop("key")
    return {"data": rows[offset : offset + limit], "total": len(rows)}


def _session_cursor(last_at: datetime, session_id: str) -> str:
    raw = orjson.dumps([buckets.utc(last_at).isoformat(), session_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_session_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        last_at, session_id = orjson.loads(raw)
        return datetime.fromisoformat(last_at), str(session_id)
    except (ValueError, TypeError):
        raise params.bad("cursor", "not a cursor this API returned") from None


def session_json(row: Any) -> dict[str, Any]:
    first, last, end = (
        buckets.utc(row.first_at),
        buckets.utc(row.last_at),
        buckets.utc(row.end_at),
    )
    return {
        "session_id": row.session_id,
        "name": row.name,
        "user_id": row.user_id,
        "requests": row.requests,
        "errors": row.errors,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "total_tokens": row.total_tokens,
        "cost_usd": row.cost_usd,
        "first_at": first.isoformat(),
        "last_at": last.isoformat(),
        "duration_ms": round((end - first).total_seconds() * 1000, 3),
    }


async def sessions(analytics: Analytics, org_id: str, query: QueryParams) -> dict[str, Any]:
    params.reject_unknown(query, {"from", "to", "user_id", "name", "limit", "cursor"})
    span = Span(params.timestamp(query, "from"), params.timestamp(query, "to"))
    limit = params.integer(query, "limit", default=50, low=1, high=1000)
    assert limit is not None
    cursor = query.get("cursor")
    after = _decode_session_cursor(cursor) if cursor else None
    rows = await analytics.sessions(
        org_id,
        span,
        user_id=query.get("user_id"),
        name=query.get("name"),
        limit=limit + 1,
        after=after,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _session_cursor(rows[-1].last_at, rows[-1].session_id)
    return {"data": [session_json(row) for row in rows], "next_cursor": next_cursor}


SESSION_REQUESTS = 2000


async def session(analytics: Analytics, org_id: str, session_id: str) -> dict[str, Any]:
    summary_row, rows = await analytics.session(org_id, session_id, SESSION_REQUESTS)
    if summary_row is None:
        raise NotFound(f"No session with id {session_id!r}")
    body = session_json(summary_row)
    start = buckets.utc(summary_row.first_at)
    records = []
    for row in rows:
        created = buckets.utc(row.created_at)
        records.append(
            {
                "id": row.id,
                "created_at": created.isoformat(),
                "offset_ms": round((created - start).total_seconds() * 1000, 3),
                "latency_ms": row.latency_ms,
                "ttft_ms": row.ttft_ms,
                "status": row.status,
                "error": row.error,
                "provider": row.provider,
                "model": row.request_model or row.response_model,
                "prompt_tokens": row.prompt_tokens,
                "completion_tokens": row.completion_tokens,
                "total_tokens": row.total_tokens,
                "cost_usd": row.cost_usd,
                "path": normalize_path(row.session_path),
                "request_name": row.request_name,
                "user_id": row.user_id,
                "cache_hit": row.cache_hit,
            }
        )
    body["requests_shown"] = len(records)
    body["requests_list"] = records
    body["tree"] = tree(records)
    return body


def normalize_path(path: str | None) -> str:
    parts = [p for p in (path or "").split("/") if p]
    return "/" + "/".join(parts)


def tree(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requests nested by session path: ``/a/b`` is a child of ``/a``."""
    nodes: dict[str, dict[str, Any]] = {}

    def node(path: str) -> dict[str, Any]:
        if path in nodes:
            return nodes[path]
        name = path.rsplit("/", 1)[-1] or "/"
        made = {
            "path": path,
            "name": name,
            "requests": [],
            "children": [],
            "total_requests": 0,
            "cost_usd": 0.0,
            "errors": 0,
            "start_ms": None,
            "end_ms": None,
        }
        nodes[path] = made
        if path != "/":
            parent = path.rsplit("/", 1)[0] or "/"
            node(parent)["children"].append(made)
        return made

    root = node("/")
    for record in records:
        leaf = node(record["path"])
        leaf["requests"].append(record["id"])
        current: dict[str, Any] | None = leaf
        path = record["path"]
        while current is not None:
            current["total_requests"] += 1
            current["cost_usd"] += record["cost_usd"] or 0.0
            current["errors"] += record["status"] >= 400 or record["error"] is not None
            end = record["offset_ms"] + record["latency_ms"]
            if current["start_ms"] is None or record["offset_ms"] < current["start_ms"]:
                current["start_ms"] = record["offset_ms"]
            if current["end_ms"] is None or end > current["end_ms"]:
                current["end_ms"] = end
            if path == "/":
                current = None
            else:
                path = path.rsplit("/", 1)[0] or "/"
                current = nodes[path]
    return [root]
