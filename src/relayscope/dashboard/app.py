"""The dashboard, served by the gateway at ``/dashboard`` (``/`` redirects there)."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from relayscope.api.unavailable import exception_handlers
from relayscope.dashboard import (
    admin,
    evaluators,
    experiments,
    filter_views,
    live,
    sessions,
    views,
)
from relayscope.dashboard.auth import Sessions
from relayscope.dashboard.render import page
from relayscope.dashboard.timing import ServerTiming
from relayscope.errors import BadRequest, ServiceUnavailable
from relayscope.logs.writer import LogWriter
from relayscope.proxy.body import API_BODY_LIMITS, BodyLimits, BoundedBody
from relayscope.store.base import LogStore
from relayscope.store.sql import SqlStore

STATIC = Path(__file__).with_name("static")


async def _root(_request: object) -> Response:
    return RedirectResponse("/dashboard", status_code=303)


async def _invalid(request: Request, exc: Exception) -> Response:
    """A parameter a page's own checks did not catch: a 400 page naming it."""
    assert isinstance(exc, BadRequest)
    return page("invalid.html", 400, error=exc.message, path=request.url.path)


async def _not_found(request: Request, exc: Exception) -> Response:
    """Any unknown dashboard path: the dashboard's own page, with its header."""
    session = await request.app.state.sessions.current(request)
    return page("notfound.html", 404, session=session, path=request.url.path, section=None)


async def _failed(request: Request, exc: Exception) -> Response:
    """A page that failed: a styled 500 (the exception is still logged)."""
    return page("failed.html", 500, path=request.url.path)


async def _favicon(_request: Request) -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def _unavailable(_request: Request, error: ServiceUnavailable) -> Response:
    response = page("unavailable.html", error.status)
    response.headers.update(error.headers)
    return response


def create_dashboard(
    *,
    store: SqlStore,
    api: object,
    body_limits: BodyLimits = API_BODY_LIMITS,
    logs: LogStore | None = None,
    writer: LogWriter | None = None,
) -> Starlette:
    """``api`` is the JSON API app, called in-process for the pages that read it.
    Request bodies (sign-in and other forms) are read within ``body_limits``. The
    explorer reads ``logs`` (default: ``store``); ``writer`` tells its live tail of
    new records (without it, the tail asks the store every few seconds)."""
    app = Starlette(
        routes=[
            Route("/", _root),
            Route("/favicon.ico", _favicon),
            Route("/dashboard", views.home),
            Route("/dashboard/", views.home),
            Route("/dashboard/signin", views.signin_form, methods=["GET"]),
            Route("/dashboard/signin", views.signin, methods=["POST"]),
            Route("/dashboard/signout", views.signout, methods=["POST"]),
            Route("/dashboard/requests", views.requests_page),
            Route("/dashboard/requests/export", views.export_page),
            Route("/dashboard/requests/live", live.live_requests),
            Route("/dashboard/requests/{id}", views.request_detail),
            Route("/dashboard/sessions", sessions.sessions_page),
            Route("/dashboard/sessions/{id:path}", sessions.session_detail),
            Route("/dashboard/users", views.users_page),
            Route("/dashboard/properties", views.properties_page),
            Route("/dashboard/analytics", views.analytics_page),
            Route("/dashboard/prompts", views.prompts_page),
            Route("/dashboard/datasets", experiments.datasets_page),
            Route("/dashboard/datasets/{id}", experiments.dataset_page),
            Route("/dashboard/datasets/{id}/rows/{row_id}", experiments.edit_row, methods=["POST"]),
            Route("/dashboard/experiments", experiments.create_experiment, methods=["POST"]),
            Route("/dashboard/experiments/{id}", experiments.experiment_page),
            Route(
                "/dashboard/experiments/{id}/run", experiments.start_experiment, methods=["POST"]
            ),
            Route("/dashboard/suggestions", filter_views.suggestions),
            *admin.routes,
            Route("/dashboard/evaluators", evaluators.evaluators_page, methods=["GET"]),
            Route("/dashboard/evaluators", evaluators.create_evaluator, methods=["POST"]),
            Route(
                "/dashboard/evaluators/{id}/delete", evaluators.delete_evaluator, methods=["POST"]
            ),
            Route("/dashboard/evaluators/{id}/run", evaluators.run_evaluator, methods=["POST"]),
            Mount("/dashboard/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(ServerTiming), Middleware(BoundedBody, limits=body_limits)],
        exception_handlers={
            **exception_handlers(_unavailable),
            BadRequest: _invalid,
            404: _not_found,
            500: _failed,
        },
    )
    app.state.store = store
    app.state.logs = logs if logs is not None else store
    app.state.new_records = live.NewRecords()
    if writer is not None:
        writer.add_hook(app.state.new_records.stored)
    app.state.sessions = Sessions(store.database)
    app.state.api = api
    return app
