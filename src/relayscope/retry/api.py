"""``/api/provider-keys``: the org's operator-configured provider keys.

Keys go in and never come out: listing shows the provider, when the key was set
and its last four characters.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import admin, principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available
from relayscope.errors import BadRequest, NotFound
from relayscope.providers.registry import PROVIDERS
from relayscope.retry.provider_keys import ProviderKeyInfo, ProviderKeys

MAX_KEY_CHARS = 1000
PROVIDER_NAMES = frozenset(p.name for p in PROVIDERS)


def info_json(info: ProviderKeyInfo) -> dict[str, str]:
    return {
        "provider": info.provider,
        "created_at": info.created_at.isoformat(),
        "last4": info.last4,
    }


def check_provider(name: str) -> str:
    if name not in PROVIDER_NAMES:
        known = ", ".join(sorted(PROVIDER_NAMES))
        raise NotFound(f"Unknown provider {name!r} (known: {known})", code="unknown_provider")
    return name


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise BadRequest("'key' must be a non-empty string", param="key")
    key = key.strip()
    if len(key) > MAX_KEY_CHARS or any(c.isspace() for c in key):
        raise BadRequest(
            f"'key' must be one token without spaces, at most {MAX_KEY_CHARS} characters",
            param="key",
        )
    return key


def _keys(request: Request) -> ProviderKeys:
    return available(api_services(request).provider_keys, "Provider keys")


async def list_keys(request: Request) -> Response:
    who = await admin(request)
    infos = await _keys(request).list(who.org_id)
    return json_response({"data": [info_json(info) for info in infos]})


async def put_key(request: Request) -> Response:
    who = await principal(request)
    provider = check_provider(request.path_params["provider"])
    try:
        payload = await request.json()
    except ValueError:
        raise BadRequest('Body must be JSON: {"key": "<provider API key>"}') from None
    if not isinstance(payload, dict) or set(payload) != {"key"}:
        raise BadRequest('Body must be JSON: {"key": "<provider API key>"}')
    info = await _keys(request).set(who.org_id, provider, check_key(payload["key"]))
    return json_response({"data": info_json(info)})


async def delete_key(request: Request) -> Response:
    who = await principal(request)
    provider = check_provider(request.path_params["provider"])
    if not await _keys(request).delete(who.org_id, provider):
        raise NotFound(f"No {provider} key is configured for this org")
    return json_response({"deleted": provider})


routes = [
    Route("/api/provider-keys", list_keys, methods=["GET"]),
    Route("/api/provider-keys/{provider}", put_key, methods=["PUT"]),
    Route("/api/provider-keys/{provider}", delete_key, methods=["DELETE"]),
]
