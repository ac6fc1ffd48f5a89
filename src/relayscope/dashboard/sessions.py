"""The sessions pages: the list (by name), and one session as a collapsible tree of
its steps, each with its input and output, beside a timeline in offsets from the
session's start. The numbers come from ``analytics.service``, like ``/api/sessions``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relayscope.analytics import service
from relayscope.analytics.repository import Analytics
from relayscope.dashboard import auth, steps
from relayscope.dashboard.render import page
from relayscope.dashboard.views import _context, signed_in
from relayscope.errors import BadRequest, NotFound

STEPS_WITH_BODIES = 200
"""Steps whose input and output the page shows inline; later ones link to their request."""


def _analytics(request: Request) -> Analytics:
    return Analytics(request.app.state.store.database)


@signed_in
async def sessions_page(request: Request, session: auth.Session) -> Response:
    error: str | None = None
    body: dict[str, Any] = {"data": [], "next_cursor": None}
    try:
        body = await service.sessions(_analytics(request), session.org_id, request.query_params)
    except BadRequest as exc:
        error = exc.message
    return page(
        "sessions.html",
        400 if error else 200,
        **_context(
            request,
            session,
            "sessions",
            sessions=body["data"],
            next_cursor=body["next_cursor"],
            error=error,
            filters=dict(request.query_params),
        ),
    )


@signed_in
async def session_detail(request: Request, session: auth.Session) -> Response:
    session_id = request.path_params["id"]
    analytics = _analytics(request)
    try:
        body = await service.session(analytics, session.org_id, session_id)
    except NotFound:
        return page(
            "missing.html",
            404,
            **_context(request, session, "sessions", what="session", ident=session_id),
        )
    listed = body["requests_list"]
    bodies = await analytics.session_bodies(session.org_id, session_id, STEPS_WITH_BODIES)
    io = {row.id: steps.step_io(row.request_body, row.response_body) for row in bodies}
    total = max([r["offset_ms"] + (r["latency_ms"] or 0) for r in listed] or [1.0])
    total = max(total, 1.0)
    return page(
        "session.html",
        **_context(
            request,
            session,
            "sessions",
            s=body,
            total_ms=total,
            ticks=steps.ticks(total),
            by_id={r["id"]: r for r in listed},
            io=io,
            steps_with_bodies=STEPS_WITH_BODIES,
            step_name=_step_name,
            offset=steps.offset_label,
        ),
    )


def _step_name(step: dict[str, Any]) -> str:
    """A step as a person names it: its request name, else the last part of its
    session path, else its model."""
    path_name = step["path"].rsplit("/", 1)[-1]
    return str(step["request_name"] or path_name or step["model"] or "request")
