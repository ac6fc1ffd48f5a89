"""``/api/keys``: the org's gateway keys, their scopes, credentials and rotation.

Admin keys only, reads included: a key's scopes and metadata are the org's
configuration. A secret is shown once, in the answer that made it (create, rotate);
credentials go in and never come out (a listing shows each provider and its key's
last four characters).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import admin
from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available
from relayscope.errors import BadRequest, NotFound
from relayscope.virtualkeys.repository import VirtualKeyInfo, VirtualKeys
from relayscope.virtualkeys.spec import parse_create, parse_grace, parse_update


def key_json(info: VirtualKeyInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "prefix": info.prefix,
        "name": info.name,
        "role": info.role,
        "created_at": info.created_at.isoformat(),
        "revoked_at": _iso(info.revoked_at),
        "expires_at": _iso(info.expires_at),
        "scopes": info.scopes.to_json(),
        "metadata": info.metadata,
        "credentials": [
            {"provider": c.provider, "last4": c.last4, "created_at": c.created_at.isoformat()}
            for c in info.credentials
        ],
        "previous_valid_until": _iso(info.previous_valid_until),
    }


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def _keys(request: Request) -> VirtualKeys:
    return available(api_services(request).virtual_keys, "Virtual keys")


async def _body(request: Request) -> object:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body must be valid JSON") from None


def _changed(request: Request, key_id: str) -> None:
    """Drop this process's cached answer at once (other gateways hear of it too)."""
    api_services(request).keys.forget({key_id})


async def list_keys(request: Request) -> Response:
    who = await admin(request)
    infos = await _keys(request).list_keys(who.org_id)
    return json_response({"data": [key_json(info) for info in infos]})


async def create_key(request: Request) -> Response:
    who = await admin(request)
    spec = parse_create(await _body(request))
    info, secret = await _keys(request).create(who.org_id, spec)
    return json_response({"data": key_json(info), "key": secret}, 201)


async def get_key(request: Request) -> Response:
    who = await admin(request)
    key_id = request.path_params["id"]
    info = await _keys(request).get(who.org_id, key_id)
    if info is None:
        raise NotFound(f"No key with id {key_id!r} in this org", code="key_not_found")
    return json_response({"data": key_json(info)})


async def update_key(request: Request) -> Response:
    who = await admin(request)
    key_id = request.path_params["id"]
    changes = parse_update(await _body(request))
    info = await _keys(request).update(who.org_id, key_id, changes)
    if info is None:
        raise _missing(key_id)
    _changed(request, key_id)
    return json_response({"data": key_json(info)})


async def rotate_key(request: Request) -> Response:
    who = await admin(request)
    key_id = request.path_params["id"]
    payload = await _body(request)
    if not isinstance(payload, dict) or set(payload) - {"grace_seconds"}:
        raise BadRequest('Body must be JSON: {"grace_seconds": <seconds>} (or empty)')
    grace = timedelta(seconds=parse_grace(payload.get("grace_seconds")))
    rotated = await _keys(request).rotate(who.org_id, key_id, grace)
    if rotated is None:
        raise _missing(key_id)
    _changed(request, key_id)
    info, secret = rotated
    return json_response({"data": key_json(info), "key": secret})


async def revoke_key(request: Request) -> Response:
    who = await admin(request)
    key_id = request.path_params["id"]
    if not await _keys(request).revoke(who.org_id, key_id):
        raise _missing(key_id)
    _changed(request, key_id)
    return json_response({"revoked": key_id})


def _missing(key_id: str) -> NotFound:
    return NotFound(f"No active key with id {key_id!r} in this org", code="key_not_found")


routes = [
    Route("/api/keys", list_keys, methods=["GET"]),
    Route("/api/keys", create_key, methods=["POST"]),
    Route("/api/keys/{id}", get_key, methods=["GET"]),
    Route("/api/keys/{id}", update_key, methods=["PATCH"]),
    Route("/api/keys/{id}/rotate", rotate_key, methods=["POST"]),
    Route("/api/keys/{id}", revoke_key, methods=["DELETE"]),
]
