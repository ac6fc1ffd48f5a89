"""Every API call is made with a gateway key and sees only that key's org."""

from __future__ import annotations

from starlette.requests import Request

from relayscope.auth.keys import KeyResolver, Principal

INTERNAL = "relayscope.principal"
"""Scope key the dashboard sets when it calls the API in-process for a signed-in
session (a network client cannot set ASGI scope keys)."""


async def principal(request: Request) -> Principal:
    injected = request.scope.get(INTERNAL)
    if isinstance(injected, Principal):
        return injected
    resolver: KeyResolver = request.app.state.keys
    return await resolver.resolve(request.headers.get("authorization"), "Authorization")
