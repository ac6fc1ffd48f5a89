"""Every API call is made with a gateway key and sees only that key's org."""

from __future__ import annotations

from starlette.requests import Request

from relayscope.auth.keys import KeyResolver, Principal


async def principal(request: Request) -> Principal:
    resolver: KeyResolver = request.app.state.keys
    return await resolver.resolve(request.headers.get("authorization"), "Authorization")
