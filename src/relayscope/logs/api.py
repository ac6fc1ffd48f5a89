"""``/api/dead-letters``: the caller's org's log records the store refused, newest first."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api import params
from relayscope.api.auth import principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available

MAX_LIMIT = 1000


async def list_dead_letters(request: Request) -> Response:
    who = await principal(request)
    query = request.query_params
    params.reject_unknown(query, {"limit"})
    limit = params.integer(query, "limit", default=100, low=1, high=MAX_LIMIT)
    assert limit is not None
    letters = available(api_services(request).dead_letters, "Dead letters")
    entries = await asyncio.to_thread(letters.entries, who.org_id, limit=limit)
    return json_response({"data": entries})


routes = [Route("/api/dead-letters", list_dead_letters)]
