"""``/api/webhooks``: an org's request webhooks (secrets masked)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.alerts.api import json_body
from relayscope.api.auth import admin, principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available
from relayscope.errors import NotFound
from relayscope.webhooks.repository import parse_webhook

if TYPE_CHECKING:
    from relayscope.alerts.service import AlertsService


def _service(request: Request) -> AlertsService:
    return available(api_services(request).alerts, "Webhooks")


async def list_webhooks(request: Request) -> Response:
    who = await admin(request)
    hooks = await _service(request).webhooks.list(who.org_id)
    return json_response({"data": [h.to_json() for h in hooks]})


async def create_webhook(request: Request) -> Response:
    who = await principal(request)
    service = _service(request)
    fields = parse_webhook(
        await json_body(request), allow_private=service.settings.allow_private_targets
    )
    hook = await service.webhooks.create(who.org_id, **fields)
    service.webhooks_changed()
    return json_response({"data": hook.to_json()}, 201)


async def delete_webhook(request: Request) -> Response:
    who = await principal(request)
    service = _service(request)
    webhook_id = request.path_params["id"]
    if not await service.webhooks.delete(who.org_id, webhook_id):
        raise NotFound(f"No webhook with id {webhook_id!r}")
    service.webhooks_changed()
    return Response(status_code=204)


routes = [
    Route("/api/webhooks", list_webhooks, methods=["GET"]),
    Route("/api/webhooks", create_webhook, methods=["POST"]),
    Route("/api/webhooks/{id}", delete_webhook, methods=["DELETE"]),
]
