"""``/api/analytics/...``, ``/api/users``, ``/api/properties``, ``/api/sessions``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.analytics import service
from relayscope.analytics.repository import Analytics
from relayscope.api.auth import principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services


def _analytics(request: Request) -> Analytics:
    services = api_services(request)
    return Analytics(services.store.database, services.logs)


async def summary(request: Request) -> Response:
    who = await principal(request)
    body = await service.summary(_analytics(request), who.org_id, request.query_params)
    return json_response({"data": body})


async def timeseries(request: Request) -> Response:
    who = await principal(request)
    body = await service.timeseries(_analytics(request), who.org_id, request.query_params)
    return json_response({"data": body})


async def scores(request: Request) -> Response:
    who = await principal(request)
    return json_response(
        await service.score_summary(_analytics(request), who.org_id, request.query_params)
    )


async def users(request: Request) -> Response:
    who = await principal(request)
    return json_response(await service.users(_analytics(request), who.org_id, request.query_params))


async def properties(request: Request) -> Response:
    who = await principal(request)
    return json_response(
        await service.properties(_analytics(request), who.org_id, request.query_params)
    )


async def property_values(request: Request) -> Response:
    who = await principal(request)
    name = request.path_params["name"]
    return json_response(
        await service.property_values(_analytics(request), who.org_id, name, request.query_params)
    )


async def sessions(request: Request) -> Response:
    who = await principal(request)
    return json_response(
        await service.sessions(_analytics(request), who.org_id, request.query_params)
    )


async def session(request: Request) -> Response:
    who = await principal(request)
    body = await service.session(_analytics(request), who.org_id, request.path_params["id"])
    return json_response({"data": body})


routes = [
    Route("/api/analytics/summary", summary),
    Route("/api/analytics/timeseries", timeseries),
    Route("/api/analytics/scores", scores),
    Route("/api/users", users),
    Route("/api/properties", properties),
    Route("/api/properties/{name}", property_values),
    Route("/api/sessions", sessions),
    Route("/api/sessions/{id}", session),
]
