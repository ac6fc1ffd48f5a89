"""The explorer's table beyond its rows: the chosen columns, the previews they need,
the number of requests the filter matches and the live tail's address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request

from relayscope.analytics.repository import Analytics, Span, rollup_target
from relayscope.api.requests import record_json
from relayscope.dashboard import columns as cols
from relayscope.dashboard.preview import Preview, previews
from relayscope.dashboard.render import environment, query
from relayscope.record import LogRecord
from relayscope.store.base import LogStore, RequestFilter
from relayscope.store.order import NEWEST, Sort, cursor_for
from relayscope.store.sql import SqlStore

COUNT_SCAN = 10_000
"""A row store reads at most this many records to count (the newest of the filter's
time range): a few ms on SQLite. Past it the rollups answer when the filter allows;
otherwise the share of matches among them, times the range's total, is shown as an
estimate. A filter on a column without an index could otherwise read every row."""


@dataclass(frozen=True, slots=True)
class Total:
    requests: int
    estimated: bool = False
    """From the newest ``COUNT_SCAN`` records: the page says so."""


def logs_of(request: Request) -> LogStore:
    """Where the gateway keeps request records (ClickHouse, or the SQL store)."""
    logs: LogStore = request.app.state.logs
    return logs


async def total(request: Request, org_id: str, filters: RequestFilter) -> Total:
    logs = logs_of(request)
    counted = await logs.count_matching(org_id, filters, scan=COUNT_SCAN)
    if counted.exact:
        return Total(counted.matched)
    # Only a SqlStore stops short, and it keeps the rollups next to the log: whole
    # hours from them, the partial ones from the log, as the analytics page does.
    assert isinstance(logs, SqlStore)
    analytics = Analytics(logs.database)
    if rollup_target(filters) is not None:
        totals = await analytics.aggregate(org_id, filters)
        return Total(sum(t.requests for t in totals.values()))
    in_range = RequestFilter(since=filters.since, until=filters.until)
    everything = sum(t.requests for t in (await analytics.aggregate(org_id, in_range)).values())
    share = counted.matched / counted.sampled if counted.sampled else 0.0
    return Total(round(share * everything), estimated=True)


async def preview_map(
    request: Request, org_id: str, records: list[LogRecord], shown: tuple[cols.Column, ...]
) -> dict[str, tuple[Preview | None, Preview | None]]:
    """Each record's (request, response) preview, when a preview column is shown: the
    listing leaves bodies out, so they are read for this page's rows only."""
    if not any(column.preview for column in shown):
        return {}
    full = await logs_of(request).get_requests(org_id, [r.id for r in records])
    out = {}
    for record in full:
        data = record_json(record, bodies=True)
        out[record.id] = previews(data["request_body"], data["response_body"])
    return out


def live_url(query_params: QueryParams, sort: Sort, records: list[LogRecord]) -> str | None:
    """The live tail's address, on the newest page sorted newest first only: other
    orders or pages would not have a new request at their top."""
    items = query_params.multi_items()
    if sort != NEWEST or query_params.get("cursor") or query_params.get("after"):
        return None
    since = cursor_for(NEWEST, records[0]) if records else None
    return "/dashboard/requests/live?" + query(items, limit=None, since=since)


async def table(
    request: Request,
    org_id: str,
    filters: RequestFilter,
    records: list[LogRecord],
    sort: Sort,
) -> dict[str, Any]:
    """The explorer template's table context for this page of ``records``."""
    query_params = request.query_params
    shown = cols.chosen(query_params)
    store = request.app.state.store
    names = await Analytics(store.database).property_names(org_id, Span(None, None))
    return {
        "columns": shown,
        "column_choices": cols.offered(shown, sorted(names)),
        "previews": await preview_map(request, org_id, records, shown),
        "total": await total(request, org_id, filters),
        "live_url": live_url(query_params, sort, records),
        "default_columns": [column.key for column in cols.DEFAULT],
        "count_scan": COUNT_SCAN,
    }


def rows_html(
    records: list[dict[str, Any]],
    shown: tuple[cols.Column, ...],
    previews_by_id: dict[str, tuple[Preview | None, Preview | None]],
) -> str:
    """Table rows as the explorer renders them (the live tail sends these)."""
    template = environment.get_template("_request_rows.html")
    return template.render(records=records, columns=shown, previews=previews_by_id)
