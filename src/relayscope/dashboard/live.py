"""The explorer's live tail: new requests, as table rows, over Server-Sent Events.

How a stream learns of new records: the log writer calls ``NewRecords.stored`` with
every batch it stored (a writer hook), which wakes the streams of that batch's org;
each then asks the store once for the requests newer than the last one it sent,
with the page's filter. Records another process stored (``serve --workers``,
replicas) wake nobody here, so an idle stream also asks every
``FALLBACK_SECONDS``; that query, and a heartbeat when it finds nothing, is all a
quiet stream costs. A closed tab ends the stream: at once when the server
reports the disconnect (uvicorn does), otherwise at its next write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import contextmanager, suppress

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from relayscope.analytics import service
from relayscope.api import params
from relayscope.api.requests import FILTER_PREFIXES, parse_filter, record_json, sort_of
from relayscope.dashboard import auth
from relayscope.dashboard import columns as cols
from relayscope.dashboard.explorer import logs_of, preview_map, rows_html
from relayscope.dashboard.views import signed_in
from relayscope.record import LogRecord
from relayscope.store.base import LogStore, RequestFilter
from relayscope.store.order import NEWEST, cursor_for, position

FALLBACK_SECONDS = 5.0
"""How often an idle stream asks the store anyway (records of other processes)."""
COALESCE_SECONDS = 0.25
"""At least this long between two queries of one stream: a burst is one query."""
BATCH = 50
"""Rows per event; more new requests follow in the next event."""


class NewRecords:
    """Wakes the live streams of an org when the log writer stored its records."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = {}

    async def stored(self, records: Sequence[LogRecord]) -> None:
        for org_id in {record.org_id for record in records}:
            for woken in self._listeners.get(org_id, ()):
                woken.set()

    @contextmanager
    def listen(self, org_id: str) -> Iterator[asyncio.Event]:
        woken = asyncio.Event()
        self._listeners.setdefault(org_id, set()).add(woken)
        try:
            yield woken
        finally:
            listeners = self._listeners[org_id]
            listeners.discard(woken)
            if not listeners:
                del self._listeners[org_id]

    @property
    def listening(self) -> int:
        return sum(len(listeners) for listeners in self._listeners.values())


LIVE_PARAMS = service.FILTERS | {"sort", "order", cols.PARAM, "since"}
"""The explorer's parameters but its paging: a live tail is always the newest page."""


@signed_in
async def live_requests(request: Request, session: auth.Session) -> Response:
    """``GET /dashboard/requests/live?<the explorer's filter>&since=<cursor>``: rows
    of the org's new requests that match, as ``rows`` events, until the client goes."""
    query = request.query_params
    params.reject_unknown(query, LIVE_PARAMS, FILTER_PREFIXES)
    if sort_of(query) != NEWEST:
        raise params.bad("sort", "the live tail follows the newest-first order only")
    filters = parse_filter(query)
    shown = cols.chosen(query)
    since = request.headers.get("last-event-id") or query.get("since")
    if since is not None:
        try:
            position(NEWEST, since)
        except ValueError:
            raise params.bad("since", "not a cursor the explorer gave") from None
    events = _events(request, session.org_id, filters, shown, since)
    return _ClosingStream(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


class _ClosingStream(StreamingResponse):
    """Closes its events when the response ends however it ends: an ASGI 2.4 server
    reports a gone client by failing a write, after which Starlette would leave the
    generator (and its listener) suspended until it is garbage-collected."""

    body_iterator: AsyncGenerator[bytes, None]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()


async def _events(
    request: Request,
    org_id: str,
    filters: RequestFilter,
    shown: tuple[cols.Column, ...],
    since: str | None,
) -> AsyncGenerator[bytes, None]:
    feed: NewRecords = request.app.state.new_records
    logs = logs_of(request)
    with feed.listen(org_id) as woken:
        woken.set()  # first catch up with what was stored since the page (or a reconnect)
        yield b"retry: 2000\n: live\n\n"
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), FALLBACK_SECONDS)
            woken.clear()
            fresh, more = await _newer(logs, org_id, filters, since)
            if fresh:
                since = cursor_for(NEWEST, fresh[0])
                shown_previews = await preview_map(request, org_id, fresh, shown)
                records = [record_json(r, bodies=False) for r in fresh]
                payload = {"html": rows_html(records, shown, shown_previews), "rows": len(fresh)}
                yield b"id: %s\nevent: rows\ndata: %s\n\n" % (since.encode(), orjson.dumps(payload))
                if more:
                    woken.set()
            else:
                yield b": idle\n\n"
            await asyncio.sleep(COALESCE_SECONDS)


async def _newer(
    logs: LogStore, org_id: str, filters: RequestFilter, since: str | None
) -> tuple[list[LogRecord], bool]:
    """The requests after ``since`` (the oldest ``BATCH`` of them, newest first), and
    whether there are more."""
    if since is None:
        page = await logs.list_requests(org_id, filters, limit=BATCH, cursor=None)
        return page.records, False
    page = await logs.list_requests(org_id, filters, limit=BATCH, cursor=since, newer=True)
    return page.records, page.prev_cursor is not None
