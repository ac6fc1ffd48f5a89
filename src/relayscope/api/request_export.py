"""The request log under a filter, whole, as CSV or JSON Lines: the explorer's
*Export* and ``GET /api/requests/export``.

Read a page at a time (the listing's own keyset pages), so an export of millions of
requests holds one page in memory. Bodies are left out, as in the listing; the
governance export (``/api/data/export``) is the one with bodies.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from relayscope.api import csv_rows, params
from relayscope.api.auth import principal
from relayscope.api.requests import (
    FILTER_PREFIXES,
    LIST_PARAMS,
    parse_filter,
    record_json,
    sort_of,
)
from relayscope.api.services import api_services
from relayscope.record import LogRecord
from relayscope.store.base import LogStore, RequestFilter
from relayscope.store.order import NEWEST, Sort

EXPORT_PARAMS = (LIST_PARAMS - {"limit", "cursor", "after"}) | {"format"}
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
PAGE_SIZE = 500
COLUMNS = [
    f.name
    for f in fields(LogRecord)
    if f.name not in {"org_id", "record_uid", "request_body", "response_body"}
]
"""The CSV's header: every field the listing returns, in the record's order."""


def export_format(query: Any) -> str:
    """The ``format`` parameter: ``csv`` or ``jsonl`` (400 otherwise)."""
    value = query.get("format", "csv")
    if value not in FORMATS:
        raise params.bad("format", "must be csv or jsonl")
    return str(value)


async def _records(
    logs: LogStore, org_id: str, filters: RequestFilter, sort: Sort
) -> AsyncIterator[LogRecord]:
    cursor = None
    while True:
        page = await logs.list_requests(org_id, filters, limit=PAGE_SIZE, cursor=cursor, sort=sort)
        for record in page.records:
            yield record
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _encode(record: LogRecord, fmt: str) -> bytes:
    data = record_json(record, bodies=False)
    if fmt == "jsonl":
        return orjson.dumps(data) + b"\n"
    return csv_rows.line(data.get(name) for name in COLUMNS)


async def export_response(
    logs: LogStore, org_id: str, filters: RequestFilter, fmt: str, sort: Sort = NEWEST
) -> Response:
    """The streamed export, in ``sort``'s order; the first page is read before the
    response starts, so a store that is down is an error status, not a cut download."""
    records = _records(logs, org_id, filters, sort)
    first = await anext(records, None)

    async def body() -> AsyncIterator[bytes]:
        if fmt == "csv":
            yield csv_rows.line(COLUMNS)
        if first is None:
            return
        yield _encode(first, fmt)
        async for record in records:
            yield _encode(record, fmt)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        body(),
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="requests-{stamp}.{fmt}"'},
    )


async def export_requests(request: Request) -> Response:
    """``GET /api/requests/export?format=csv|jsonl`` with the listing's filters."""
    who = await principal(request)
    query = request.query_params
    params.reject_unknown(query, EXPORT_PARAMS, FILTER_PREFIXES)
    fmt = export_format(query)
    logs = api_services(request).logs
    return await export_response(logs, who.org_id, parse_filter(query), fmt, sort_of(query))
