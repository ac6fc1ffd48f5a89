"""Every API call is made with a gateway key and sees only that key's org.

Keys have a role. A proxy key proxies and reads its org's logs; every call that
changes something (any method but GET and HEAD) needs an admin key, and so do the
reads of the org's configuration (``admin``). The method rule is the default, so a
write route added later is admin-only without having to remember it.
"""

from __future__ import annotations

from starlette.requests import Request

from relayscope.api.services import api_services
from relayscope.auth.keys import INTERNAL_PRINCIPAL, Principal
from relayscope.errors import Forbidden

INTERNAL = INTERNAL_PRINCIPAL
"""Scope key the dashboard sets when it calls the API in-process for a signed-in
session (a network client cannot set ASGI scope keys)."""

ADMIN_CHANGE = "relayscope.admin_change"
"""Scope key naming the caller of a call that changes the org's configuration: the
audit log (``relayscope.audit``) records each such call with its outcome."""

READ_METHODS = frozenset({"GET", "HEAD"})


async def principal(request: Request) -> Principal:
    """The caller; an admin key unless the call only reads."""
    who = await _caller(request)
    if request.method not in READ_METHODS:
        request.scope[ADMIN_CHANGE] = who
        _require_admin(who)
    return who


async def admin(request: Request) -> Principal:
    """The caller, who must hold an admin key whatever the method: for reads of the
    org's configuration (policies, provider keys, alerts, webhooks, governance)."""
    who = await _caller(request)
    if request.method not in READ_METHODS:
        request.scope[ADMIN_CHANGE] = who
    _require_admin(who)
    return who


async def reader(request: Request) -> Principal:
    """The caller, any role: for a POST that changes nothing (a prompt render), and for
    the scores and feedback an application posts on its own org's requests."""
    return await _caller(request)


async def _caller(request: Request) -> Principal:
    injected = request.scope.get(INTERNAL)
    if isinstance(injected, Principal):
        return injected
    resolver = api_services(request).keys
    who = await resolver.resolve(request.headers.get("authorization"), "Authorization")
    if who.policy is not None:
        # A virtual key's expiry, rotation grace and address allowlist hold here too;
        # its provider and model scopes are about proxied requests only.
        address = request.client.host if request.client else None
        refusal = who.policy.time_refusal(resolver.clock()) or who.policy.address_refusal(address)
        if refusal is not None:
            raise refusal
    return who


def _require_admin(who: Principal) -> None:
    if not who.admin:
        raise Forbidden(
            "This call needs an admin key; this gateway key may only proxy and read its "
            "org's logs (create one with `relayscope keys create --org NAME --admin`)",
            code="admin_key_required",
        )
