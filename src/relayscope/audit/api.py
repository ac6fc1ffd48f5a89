"""``/api/audit-log``: the org's admin changes, newest first (admin keys only)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import admin
from relayscope.api.params import integer, reject_unknown
from relayscope.api.requests import json_response
from relayscope.api.services import api_services
from relayscope.audit.repository import MAX_PAGE, AuditLog


async def list_changes(request: Request) -> Response:
    who = await admin(request)
    params = request.query_params
    reject_unknown(params, {"limit", "before"})
    limit = integer(params, "limit", default=50, low=1, high=MAX_PAGE)
    assert limit is not None
    entries, next_cursor = await AuditLog(api_services(request).store.database).list(
        who.org_id, limit=limit, before=params.get("before")
    )
    return json_response({"data": [e.to_json() for e in entries], "next": next_cursor})


routes = [Route("/api/audit-log", list_changes, methods=["GET"])]
