"""The audit log page: the org's admin changes, newest first, read through the JSON API
(``/api/audit-log``) as the signed-in session's key, so only an admin key sees it."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from relayscope.auth.keys import Principal
from relayscope.dashboard import auth, internal
from relayscope.dashboard.render import page
from relayscope.dashboard.views import _context, signed_in


@signed_in
async def audit_page(request: Request, session: auth.Session) -> Response:
    who = Principal(org_id=session.org_id, key_id=session.key_id, role=session.role)
    before = request.query_params.get("before")
    query = urlencode({"limit": "50", **({"before": before} if before else {})})
    status, body = await internal.get_json(request.app.state.api, "/api/audit-log", who, query)
    if status != 200 or not isinstance(body, dict):
        message = _message(body) or f"The audit log could not be read (HTTP {status})"
        return page(
            "audit.html", status, **_context(request, session, "audit", entries=[], error=message)
        )
    return page(
        "audit.html",
        **_context(request, session, "audit", entries=body["data"], next_cursor=body["next"]),
    )


def _message(body: object) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message"))
    return None
