"""The Starlette app behind ``/api``; errors leave as OpenAI-style JSON."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from relayscope.api import openapi, request_export, requests, suggestions
from relayscope.api.nul import RefuseNul
from relayscope.api.services import ApiServices
from relayscope.api.unavailable import exception_handlers
from relayscope.audit.middleware import RecordAdminChanges
from relayscope.audit.repository import AuditLog
from relayscope.errors import GatewayError, NotFound
from relayscope.proxy.body import API_BODY_LIMITS, BodyLimits, BoundedBody


async def _gateway_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    return Response(exc.body(), exc.status, headers=exc.headers, media_type="application/json")


async def _not_found(request: Request, _exc: Exception) -> Response:
    return await _gateway_error(request, NotFound(f"No API route {request.url.path!r}"))


async def _internal_error(request: Request, _exc: Exception) -> Response:
    # Starlette still re-raises, so the server logs the traceback.
    return await _gateway_error(request, GatewayError("Internal error; see the gateway log"))


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (405, ...) as OpenAI-style JSON too."""
    assert isinstance(exc, HTTPException)
    error = GatewayError(exc.detail, code=f"http_{exc.status_code}", headers=exc.headers)
    error.status = exc.status_code
    error.type = "invalid_request_error"
    return await _gateway_error(request, error)


def create_api(
    services: ApiServices,
    *,
    routes: Sequence[BaseRoute] = (),
    body_limits: BodyLimits = API_BODY_LIMITS,
) -> Starlette:
    """The API app over ``services``; features contribute their ``routes``.

    Request bodies are read within ``body_limits`` before any route runs, and every
    admin change is recorded in the audit log (``relayscope.audit``).
    """
    app = Starlette(
        routes=[
            Route("/api/requests", requests.list_requests),
            Route("/api/requests/export", request_export.export_requests),
            Route("/api/requests/suggestions", suggestions.list_suggestions),
            Route("/api/requests/{id}", requests.get_request),
            *openapi.routes,
            *routes,
        ],
        exception_handlers={
            **exception_handlers(),
            GatewayError: _gateway_error,
            404: _not_found,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        middleware=[
            Middleware(BoundedBody, limits=body_limits),
            Middleware(RefuseNul),
            Middleware(RecordAdminChanges, audit=AuditLog(services.store.database)),
        ],
    )
    app.state.services = services
    return app
