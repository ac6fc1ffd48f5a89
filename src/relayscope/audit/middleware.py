"""ASGI middleware that records every admin call of the API in the audit log.

The API's auth helpers mark a call as an admin change (``ADMIN_CHANGE`` in the ASGI
scope) when it changes something; this middleware sees the body on its way in and the
status on its way out, and records both once the route has answered. Calls that only
read, and calls no key was resolved for (401), are not changes and are not recorded.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from relayscope.api.auth import ADMIN_CHANGE, INTERNAL, READ_METHODS
from relayscope.audit.entry import masked_detail
from relayscope.audit.repository import AuditLog, Change
from relayscope.auth.keys import Principal

log = logging.getLogger("relayscope.audit")


class RecordAdminChanges:
    def __init__(self, app: ASGIApp, audit: AuditLog) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return
        # ``BoundedBody`` (outside this) has read the body within the API's limits and
        # hands it over in one message: kept here even when the route refuses the call
        # before reading it.
        first = await receive()
        body = first.get("body", b"") if first["type"] == "http.request" else b""
        pending = [first]
        status = 500

        async def replay() -> MutableMapping[str, Any]:
            return pending.pop() if pending else await receive()

        async def seen_send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, replay, seen_send)
        finally:
            who = scope.get(ADMIN_CHANGE)
            if isinstance(who, Principal):
                await self._record(scope, who, status, body)

    async def _record(self, scope: Scope, who: Principal, status: int, body: bytes) -> None:
        client = scope.get("client")
        change = Change(
            org_id=who.org_id,
            actor_key_id=who.key_id,
            actor_role=who.role,
            via="dashboard" if scope.get(INTERNAL) is not None else "api",
            client=client[0] if client else None,
            method=scope["method"],
            path=scope["path"],
            status=status,
            detail=masked_detail(body),
        )
        try:
            await self.audit.record(change)
        except Exception:
            # The change is already made (or refused) and answered: the store took it a
            # moment ago, so this is rare, and it must at least be in the gateway log.
            log.exception("could not record an admin change in the audit log: %s", change)
