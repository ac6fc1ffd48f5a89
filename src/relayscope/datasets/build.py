"""Rows for a new dataset from the log: an explorer filter's newest requests, or
requests named by id. Requests that are not chats are skipped and counted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from relayscope.api import params
from relayscope.api.requests import FILTER_PREFIXES, LIST_PARAMS, parse_filter
from relayscope.datasets.rows import RowFields, from_record
from relayscope.errors import BadRequest, NotFound
from relayscope.store.base import LogStore

MAX_FROM_LOG = 1_000
"""Requests one build takes from the log."""
DEFAULT_FROM_FILTER = 100
FILTER_PARAMS = LIST_PARAMS - {"limit", "cursor", "after", "sort", "order"}


@dataclass(frozen=True, slots=True)
class Taken:
    rows: list[RowFields]
    skipped: list[str]
    """Ids of the requests that held no chat messages."""


def filter_query(raw: object) -> QueryParams:
    """``{"model": "gpt-4o", "score.accuracy": "gte:0.8"}``: /api/requests' parameters."""
    if not isinstance(raw, dict):
        raise BadRequest(
            "'filter' must be an object of /api/requests filter parameters, "
            'as in {"model": "gpt-4o-mini", "score.accuracy": "gte:0.8"}',
            param="filter",
        )
    items: list[tuple[str, str]] = []
    for name, value in raw.items():
        if not isinstance(value, str | int | float):
            raise BadRequest(
                f"'filter.{name}' must be a string, a number or a boolean",
                param=f"filter.{name}",
            )
        items.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    query = QueryParams(items)
    try:
        params.reject_unknown(query, FILTER_PARAMS, FILTER_PREFIXES)
    except BadRequest as exc:
        raise BadRequest(exc.message, param=f"filter.{exc.param}") from None
    return query


async def from_filter(logs: LogStore, org_id: str, query: QueryParams, limit: int) -> Taken:
    filters = parse_filter(query)
    page = await logs.list_requests(org_id, filters, limit=limit, cursor=None)
    return await from_ids(logs, org_id, [record.id for record in reversed(page.records)])


async def from_ids(logs: LogStore, org_id: str, request_ids: Sequence[str]) -> Taken:
    """The requests' rows in the order given; an id the org does not have is a 404."""
    rows: list[RowFields] = []
    skipped: list[str] = []
    for request_id in request_ids:
        record = await logs.get_request(org_id, request_id)
        if record is None:
            raise NotFound(f"No request with id {request_id!r}", param="request_ids")
        row = from_record(record)
        if row is None:
            skipped.append(request_id)
        else:
            rows.append(row)
    return Taken(rows, skipped)


def request_ids(raw: object) -> list[str]:
    if (
        not isinstance(raw, list)
        or not 1 <= len(raw) <= MAX_FROM_LOG
        or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in raw)
    ):
        raise BadRequest(
            f"'request_ids' must be a list of 1 to {MAX_FROM_LOG} request ids",
            param="request_ids",
        )
    return list(dict.fromkeys(raw))


def limit_of(body: Mapping[str, object]) -> int:
    raw = body.get("limit", DEFAULT_FROM_FILTER)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_FROM_LOG:
        raise BadRequest(f"'limit' must be an integer from 1 to {MAX_FROM_LOG}", param="limit")
    return raw
