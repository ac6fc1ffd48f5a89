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

COUNT_CAP = 10_000
"""A row store counts this many matching rows at most (a few ms on SQLite); past it
the rollups answer when the filter allows, or the page says "10,000+"."""


@dataclass(frozen=True, slots=True)
class Total:
    requests: int
    at_least: bool = False
    """The filter matches more than ``requests``: the count stopped there."""


def logs_of(request: Request) -> LogStore:
    """Where the gateway keeps request records (ClickHouse, or the SQL store)."""
    logs: LogStore = request.app.state.logs
    return logs


async def total(request: Request, org_id: str, filters: RequestFilter) -> Total:
    logs = logs_of(request)
    counted = await logs.count_matching(org_id, filters, cap=COUNT_CAP)
    if counted is not None:
        return Total(counted)
    store = request.app.state.store
    # The rollups sit next to the log in the SQL store; a ClickHouse log has none.
    if isinstance(logs, SqlStore) and logs is store and rollup_target(filters) is not None:
        # Whole hours from the rollups, the partial ones from the log: exact, and
        # as fast as the analytics page.
        totals = await Analytics(logs.database).aggregate(org_id, filters)
        return Total(sum(t.requests for t in totals.values()))
    return Total(COUNT_CAP, at_least=True)


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
    }


def rows_html(
    records: list[dict[str, Any]],
    shown: tuple[cols.Column, ...],
    previews_by_id: dict[str, tuple[Preview | None, Preview | None]],
) -> str:
    """Table rows as the explorer renders them (the live tail sends these)."""
    template = environment.get_template("_request_rows.html")
    return template.render(records=records, columns=shown, previews=previews_by_id)
