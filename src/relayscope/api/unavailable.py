"""A store that cannot be reached is a 503 with Retry-After, on every API and dashboard
route: one exception handler per app, not a try in each route."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.responses import Response

from relayscope.errors import ServiceUnavailable
from relayscope.store.base import StoreUnavailable
from relayscope.throttled_log import ThrottledWarning

RETRY_AFTER_S = 5
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    StoreUnavailable,
    DBAPIError,
    PoolTimeout,
    OSError,  # the driver's connect: refused, reset, unreachable
    TimeoutError,
)

_store_down = ThrottledWarning(logging.getLogger("relayscope.api"))


def is_outage(exc: Exception) -> bool:
    """Whether ``exc`` says the store cannot be reached (not that a query is wrong)."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))
    return isinstance(exc, OUTAGE_ERRORS)


def store_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The gateway's store is unavailable right now; retry shortly",
        code="store_unavailable",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


Render = Callable[[Request, ServiceUnavailable], Response]
Handler = Callable[[Request, Exception], Awaitable[Response]]


def _json(_request: Request, error: ServiceUnavailable) -> Response:
    return Response(error.body(), error.status, error.headers, media_type="application/json")


def outage_handler(render: Render = _json) -> Handler:
    """An exception handler for OUTAGE_ERRORS: 503 when ``is_outage``, else re-raised
    (a 500 with its traceback). ``render`` makes the 503 response (default: API JSON)."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not is_outage(exc):
            raise exc
        _store_down.warning(
            "store unavailable (%s: %s); answering 503", type(exc).__name__, _first_line(exc)
        )
        return render(request, store_unavailable())

    return handle


def _first_line(exc: Exception) -> str:
    # SQLAlchemy appends the statement and its parameters: request data stays out of logs.
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else ""


def exception_handlers(render: Render = _json) -> dict[type[Exception], Handler]:
    """Starlette ``exception_handlers`` entries for an app that reads the store."""
    handle = outage_handler(render)
    return dict.fromkeys(OUTAGE_ERRORS, handle)
