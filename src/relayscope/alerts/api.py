"""``/api/alerts/...``: rules, channels (secrets masked), test notifications, history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.alerts.channels import parse_channel
from relayscope.alerts.rules import RuleSpec, invalid, parse_rule
from relayscope.api import params
from relayscope.api.auth import admin, principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available
from relayscope.errors import BadRequest, NotFound
from relayscope.store.order import decode_cursor

if TYPE_CHECKING:
    from relayscope.alerts.service import AlertsService


def _service(request: Request) -> AlertsService:
    return available(api_services(request).alerts, "Alerts")


async def json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("The request body must be valid JSON") from None


async def _checked_rule(request: Request, org_id: str) -> RuleSpec:
    spec = parse_rule(await json_body(request))
    known = {c.id for c in await _service(request).repository.list_channels(org_id, spec.channels)}
    for i, channel_id in enumerate(spec.channels):
        if channel_id not in known:
            raise invalid(f"channels[{i}]", f"no channel {channel_id!r} in this org")
    return spec


async def list_rules(request: Request) -> Response:
    who = await admin(request)
    rules = await _service(request).repository.list_rules(who.org_id)
    return json_response({"data": [r.to_json() for r in rules]})


async def create_rule(request: Request) -> Response:
    who = await principal(request)
    spec = await _checked_rule(request, who.org_id)
    rule = await _service(request).repository.create_rule(who.org_id, spec)
    return json_response({"data": rule.to_json()}, 201)


async def get_rule(request: Request) -> Response:
    who = await admin(request)
    rule = await _service(request).repository.get_rule(who.org_id, request.path_params["id"])
    if rule is None:
        raise NotFound(f"No alert rule with id {request.path_params['id']!r}")
    return json_response({"data": rule.to_json()})


async def update_rule(request: Request) -> Response:
    who = await principal(request)
    spec = await _checked_rule(request, who.org_id)
    rule_id = request.path_params["id"]
    rule = await _service(request).repository.update_rule(who.org_id, rule_id, spec)
    if rule is None:
        raise NotFound(f"No alert rule with id {rule_id!r}")
    return json_response({"data": rule.to_json()})


async def delete_rule(request: Request) -> Response:
    who = await principal(request)
    rule_id = request.path_params["id"]
    if not await _service(request).repository.delete_rule(who.org_id, rule_id):
        raise NotFound(f"No alert rule with id {rule_id!r}")
    return Response(status_code=204)


async def list_channels(request: Request) -> Response:
    who = await admin(request)
    channels = await _service(request).repository.list_channels(who.org_id)
    return json_response({"data": [c.to_json() for c in channels]})


async def create_channel(request: Request) -> Response:
    who = await principal(request)
    service = _service(request)
    name, kind, config = parse_channel(
        await json_body(request),
        allow_private=service.settings.allow_private_targets,
        email_ready=bool(service.settings.smtp_host),
    )
    channel = await service.repository.create_channel(who.org_id, name, kind, config)
    return json_response({"data": channel.to_json()}, 201)


async def get_channel(request: Request) -> Response:
    who = await admin(request)
    channel = await _service(request).repository.get_channel(who.org_id, request.path_params["id"])
    if channel is None:
        raise NotFound(f"No alert channel with id {request.path_params['id']!r}")
    return json_response({"data": channel.to_json()})


async def delete_channel(request: Request) -> Response:
    who = await principal(request)
    channel_id = request.path_params["id"]
    if not await _service(request).repository.delete_channel(who.org_id, channel_id):
        raise NotFound(f"No alert channel with id {channel_id!r}")
    return Response(status_code=204)


async def test_channel(request: Request) -> Response:
    who = await principal(request)
    service = _service(request)
    channel = await service.repository.get_channel(who.org_id, request.path_params["id"])
    if channel is None:
        raise NotFound(f"No alert channel with id {request.path_params['id']!r}")
    delivery = await service.send_test(channel)
    return json_response({"data": {"channel_id": channel.id, **delivery.to_json()}})


async def history(request: Request) -> Response:
    who = await admin(request)
    query = request.query_params
    params.reject_unknown(query, {"rule_id", "limit", "cursor"})
    limit = params.integer(query, "limit", default=50, low=1, high=500)
    cursor = query.get("cursor")
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except ValueError:
            raise params.bad("cursor", "not a cursor this API returned") from None
    events, next_cursor = await _service(request).repository.list_events(
        who.org_id, rule_id=query.get("rule_id"), limit=limit or 50, cursor=cursor
    )
    return json_response({"data": [e.to_json() for e in events], "next_cursor": next_cursor})


routes = [
    Route("/api/alerts/rules", list_rules, methods=["GET"]),
    Route("/api/alerts/rules", create_rule, methods=["POST"]),
    Route("/api/alerts/rules/{id}", get_rule, methods=["GET"]),
    Route("/api/alerts/rules/{id}", update_rule, methods=["PUT"]),
    Route("/api/alerts/rules/{id}", delete_rule, methods=["DELETE"]),
    Route("/api/alerts/channels", list_channels, methods=["GET"]),
    Route("/api/alerts/channels", create_channel, methods=["POST"]),
    Route("/api/alerts/channels/{id}", get_channel, methods=["GET"]),
    Route("/api/alerts/channels/{id}", delete_channel, methods=["DELETE"]),
    Route("/api/alerts/channels/{id}/test", test_channel, methods=["POST"]),
    Route("/api/alerts/history", history, methods=["GET"]),
]
