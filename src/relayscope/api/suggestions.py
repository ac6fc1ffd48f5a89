"""``/api/requests/suggestions``: the values a filter field has taken in the org,
most used first, for the filter inputs' autocomplete.

Users, models and property names and values come from ``request_rollups`` (one row
per hour and value), over the last ``SPAN``: a read of the org's rows of one
dimension, however large the request log. Prompts come from the prompts table.
The values are those the rollups keep, cut to 256 characters.

With the request log in ClickHouse there are no rollups: the values are counted
there, over the org's newest records of the span (``ClickHouseLogStore.common_values``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from relayscope.api import params
from relayscope.api.auth import principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services
from relayscope.proxy.tags import property_name
from relayscope.store.base import LogStore
from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.store.database import Database
from relayscope.store.schema import prompts, request_rollups

FIELDS = ("user", "model", "property", "property_value", "prompt")
SPAN = timedelta(days=30)
DEFAULT_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Suggestion:
    value: str
    requests: int | None
    """Requests with this value over the span (None for prompts)."""


async def suggest(
    database: Database,
    org_id: str,
    query: QueryParams,
    *,
    now: datetime | None = None,
    logs: LogStore | None = None,
) -> list[Suggestion]:
    """The org's known values of ``field`` containing ``q`` (any case)."""
    params.reject_unknown(query, {"field", "name", "q", "limit"})
    field = query.get("field", "user")
    if field not in FIELDS:
        raise params.bad("field", f"must be one of {', '.join(FIELDS)}")
    limit = params.integer(query, "limit", default=DEFAULT_LIMIT, low=1, high=100)
    assert limit is not None  # it has a default
    typed = query.get("q", "")
    if field == "prompt":
        return await _prompts(database, org_id, typed, limit)
    name = query.get("name", "")
    if field == "property_value":
        if not name.strip():
            raise params.bad("name", "names the property whose values to suggest")
        dim = "property:" + property_name(name.strip())
    elif name:
        raise params.bad("name", "only goes with field=property_value")
    else:
        dim = {"user": "user", "model": "model", "property": "property:%"}[field]
    since = (now or datetime.now(UTC)) - SPAN
    if isinstance(logs, ClickHouseLogStore):
        found = await logs.common_values(
            org_id, field, typed=typed, since=since, limit=limit, name=dim.removeprefix("property:")
        )
        return [Suggestion(value, used) for value, used in found]
    return await _rolled_up(database, org_id, dim, typed, since, limit)


async def _rolled_up(
    database: Database, org_id: str, dim: str, typed: str, since: datetime, limit: int
) -> list[Suggestion]:
    r = request_rollups.c
    shown = func.substr(r.dim, len("property:") + 1) if dim == "property:%" else r.value
    used = func.sum(r.requests)
    query = (
        select(shown.label("shown"), used.label("used"))
        .where(
            r.org_id == org_id,
            r.dim.like(dim) if dim.endswith("%") else r.dim == dim,
            r.bucket >= since,
            shown != "",
        )
        .group_by(shown)
        .order_by(used.desc(), shown)
        .limit(limit)
    )
    if typed:
        query = query.where(shown.icontains(typed, autoescape=True))
    async with database.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [Suggestion(row.shown, int(row.used)) for row in rows]


async def _prompts(database: Database, org_id: str, typed: str, limit: int) -> list[Suggestion]:
    p = prompts.c
    query = select(p.id).where(p.org_id == org_id).order_by(p.id).limit(limit)
    if typed:
        query = query.where(p.id.icontains(typed, autoescape=True))
    async with database.connect() as conn:
        return [Suggestion(row.id, None) for row in (await conn.execute(query)).all()]


def suggestions_json(found: list[Suggestion]) -> dict[str, Any]:
    return {"data": [{"value": s.value, "requests": s.requests} for s in found]}


async def list_suggestions(request: Request) -> Response:
    who = await principal(request)
    services = api_services(request)
    found = await suggest(
        services.store.database, who.org_id, request.query_params, logs=services.logs
    )
    return json_response(suggestions_json(found))
