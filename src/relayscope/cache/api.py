"""``/api/cache/stats``: what the response cache of this gateway process did for the org."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import principal
from relayscope.api.services import api_services, available


async def stats(request: Request) -> Response:
    who = await principal(request)
    counters = available(api_services(request).cache_stats, "Cache statistics")
    body = orjson.dumps({"data": counters.as_dict(who.org_id)})
    return Response(body, media_type="application/json")


routes = [Route("/api/cache/stats", stats, methods=["GET"])]
