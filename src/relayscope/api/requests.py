"""``/api/requests``: the request log, newest first, filtered and paginated."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from relayscope.api import params, time_range
from relayscope.api.auth import principal
from relayscope.api.services import api_services
from relayscope.api.text_filters import PROPERTY_PREFIXES, TEXT_PARAMS, text_matches
from relayscope.errors import NotFound
from relayscope.proxy.tags import property_name
from relayscope.record import LogRecord
from relayscope.store import scores
from relayscope.store.base import RequestFilter, ScoreCondition
from relayscope.store.order import Sort, position
from relayscope.store.sql import search_words

LIST_PARAMS = {
    "user_id",
    "session_id",
    "model",
    "provider",
    "status",
    "request_name",
    "prompt_id",
    "prompt_version",
    "from",
    "to",
    "limit",
    "cursor",
    "after",
    "sort",
    "order",
    "search",
    "feedback",
    "range",
} | TEXT_PARAMS
FILTER_PREFIXES = ("property.", "score.", *PROPERTY_PREFIXES)
_STATUS_WORDS = ("success", "error", "rate_limited", "cached")


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


def record_json(record: LogRecord, *, bodies: bool) -> dict[str, Any]:
    row = record.to_row()
    # The gateway's own identity of the record: the id it answered with is the one to use.
    del row["record_uid"]
    row["created_at"] = record.created_at.isoformat()
    if bodies:
        for key in ("request_body", "response_body"):
            row[key] = _maybe_json(row[key])
    else:
        row.pop("request_body")
        row.pop("response_body")
    return row


_ENCODER_DEPTH = 255
"""orjson writes at most this many nested levels (and reads up to 1024)."""


def _maybe_json(text: str | None) -> Any:
    """A stored body as JSON when it is JSON the response can hold, else as text."""
    if text is None:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if text.count("[") + text.count("{") > _ENCODER_DEPTH:  # rarely: then check the depth
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError:
            return text
    return value


def parse_filter(query: Any) -> RequestFilter:
    raw_status: str | None = query.get("status")
    status: int | str | None = raw_status
    if raw_status is not None and raw_status not in _STATUS_WORDS:
        if not (
            raw_status.isascii() and raw_status.isdigit() and 100 <= int(raw_status[:4]) <= 599
        ):
            raise params.bad(
                "status",
                "must be an HTTP status code, 'success', 'error', 'rate_limited' or 'cached'",
            )
        status = int(raw_status)
    search = query.get("search")
    if search is not None:
        search = search.strip() or None
        if search is not None and not search_words(search):
            raise params.bad("search", "needs at least one letter or digit")
    properties = []
    for name, value in query.multi_items():
        if name.startswith("property."):
            prop = name.removeprefix("property.")
            if not prop:
                raise params.bad(name, "needs a property name, as in property.<name>=<value>")
            properties.append((property_name(prop), value))
    return RequestFilter(
        user_id=query.get("user_id"),
        session_id=query.get("session_id"),
        model=query.get("model"),
        provider=query.get("provider"),
        status=status,
        request_name=query.get("request_name"),
        prompt_id=query.get("prompt_id"),
        prompt_version=params.integer(query, "prompt_version", default=None, low=1, high=10**9),
        properties=tuple(properties),
        since=time_range.since(query),
        until=params.timestamp(query, "to"),
        search=search,
        scores=score_conditions(query),
        matches=text_matches(query),
    )


def score_conditions(query: Any) -> tuple[ScoreCondition, ...]:
    """``score.<name>=[op:]value`` (repeatable) and ``feedback=true|false``."""
    conditions = []
    for name, value in query.multi_items():
        if name.startswith("score."):
            try:
                conditions.append(scores.parse_condition(name.removeprefix("score."), value))
            except ValueError as exc:
                raise params.bad(name, f"{exc} (write score.<name>=[op:]value)") from None
        elif name == "feedback":
            if value not in ("true", "false"):
                raise params.bad(name, "must be true (positive) or false (negative)")
            conditions.append(ScoreCondition(scores.FEEDBACK, "eq", float(value == "true")))
    return tuple(conditions)


def sort_of(query: Any) -> Sort:
    """``sort`` (time, latency, cost or tokens) and ``order`` (desc, the default, or asc)."""
    order = query.get("order", "desc")
    if order not in ("desc", "asc"):
        raise params.bad("order", "must be desc or asc")
    try:
        return Sort(query.get("sort", "time"), ascending=order == "asc")
    except ValueError as exc:
        raise params.bad("sort", str(exc)) from None


def page_cursor(query: Any, sort: Sort) -> tuple[str | None, bool]:
    """``cursor`` (the page after it) or ``after`` (the page before it)."""
    cursor, after = query.get("cursor"), query.get("after")
    if cursor is not None and after is not None:
        raise params.bad("after", "cannot be used with cursor: one direction at a time")
    name, value = ("after", after) if after is not None else ("cursor", cursor)
    if value is not None:
        try:
            position(sort, value)
        except ValueError:
            raise params.bad(name, "not a cursor this API returned for this sort") from None
    return value, after is not None


async def list_requests(request: Request) -> Response:
    who = await principal(request)
    query = request.query_params
    params.reject_unknown(query, LIST_PARAMS, FILTER_PREFIXES)
    filters = parse_filter(query)
    limit = params.integer(query, "limit", default=50, low=1, high=1000)
    assert limit is not None  # it has a default
    sort = sort_of(query)
    cursor, newer = page_cursor(query, sort)
    page = await api_services(request).logs.list_requests(
        who.org_id, filters, limit=limit, cursor=cursor, newer=newer, sort=sort
    )
    return json_response(
        {
            "data": [record_json(r, bodies=False) for r in page.records],
            "next_cursor": page.next_cursor,
            "prev_cursor": page.prev_cursor,
        }
    )


async def get_request(request: Request) -> Response:
    who = await principal(request)
    record = await api_services(request).logs.get_request(who.org_id, request.path_params["id"])
    if record is None:
        raise NotFound(f"No request with id {request.path_params['id']!r}")
    held = await scores.of_request(api_services(request).store.database, who.org_id, record.id)
    return json_response({"data": {**record_json(record, bodies=True), **scores.scores_json(held)}})
