"""``/api/rate-limits``: an org's standing policies (list, set, delete).

POST takes ``{"policy": "<quota>;w=<seconds>[;u=<unit>][;s=<segment>]", "key_id": ...}``
and creates the policy (201), or changes the quota of the org's policy with the
same key, window, unit and segment (200). Gateways pick changes up within
``RELAYSCOPE_RATELIMIT_POLICY_TTL`` seconds.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import admin, principal
from relayscope.api.services import api_services
from relayscope.errors import BadRequest, NotFound
from relayscope.ratelimit.policy import PolicyError, parse_policy
from relayscope.ratelimit.repository import PolicyRepository

_FIELDS = {"policy", "key_id"}


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status, media_type="application/json")


def _bad(field: str, problem: str) -> BadRequest:
    return BadRequest(f"Invalid field '{field}': {problem}", param=field)


def _repository(request: Request) -> PolicyRepository:
    return PolicyRepository(api_services(request).store.database)


async def rate_limits(request: Request) -> Response:
    if request.method == "POST":
        return await _create(request)
    who = await admin(request)
    policies = await _repository(request).list(who.org_id)
    return _json({"data": [p.to_json() for p in policies]})


async def _create(request: Request) -> Response:
    who = await principal(request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("Request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    for name in body:
        if name not in _FIELDS:
            raise _bad(name, "unknown field (expected policy and optionally key_id)")
    text = body.get("policy")
    if text is None:
        raise _bad("policy", 'required, e.g. "100;w=60" for 100 requests per minute')
    if not isinstance(text, str):
        raise _bad("policy", 'must be a string such as "100;w=60"')
    try:
        policy = parse_policy(text.strip())
    except PolicyError as exc:
        raise _bad("policy", str(exc)) from None
    key_id = body.get("key_id")
    repository = _repository(request)
    if key_id is not None:
        if not isinstance(key_id, str):
            raise _bad("key_id", "must be a string (a key id) or null")
        if not await repository.key_in_org(who.org_id, key_id):
            raise _bad("key_id", f"no key {key_id!r} in this org")
    standing, created = await repository.set(who.org_id, policy, key_id)
    return _json({"data": standing.to_json()}, 201 if created else 200)


async def delete_rate_limit(request: Request) -> Response:
    who = await principal(request)
    policy_id = request.path_params["id"]
    if not await _repository(request).delete(policy_id, who.org_id):
        raise NotFound(f"No rate-limit policy {policy_id!r} in this org")
    return _json({"data": {"id": policy_id, "deleted": True}})


routes = [
    Route("/api/rate-limits", rate_limits, methods=["GET", "POST"]),
    Route("/api/rate-limits/{id}", delete_rate_limit, methods=["DELETE"]),
]
