"""The admin pages: the org's rate limits, alerts, webhooks, cache and audit log.

Each page reads, and each form acts, through the JSON API in process as the signed-in
session's key, so the API's role check decides: a proxy key's session is shown the
API's "needs an admin key" message, and every change lands in the audit log as made
through the dashboard.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from relayscope.dashboard import auth, internal
from relayscope.dashboard.admin_forms import (
    FormError,
    budget,
    json_field,
    new_key,
    policy,
    rotation,
    scopes,
    webhook,
)
from relayscope.dashboard.render import page
from relayscope.dashboard.views import _context, _form, signed_in
from relayscope.providers.registry import PROVIDERS

TABS = (
    ("keys", "Keys"),
    ("budgets", "Budgets"),
    ("teams", "Teams"),
    ("rate-limits", "Rate limits"),
    ("alerts", "Alerts"),
    ("webhooks", "Webhooks"),
    ("cache", "Cache"),
    ("audit", "Audit log"),
)


@dataclass(frozen=True)
class Read:
    """One API read a tab shows, under ``name``."""

    name: str
    path: str
    query: Callable[[Request], dict[str, str]] = lambda _request: {}


def _older(request: Request) -> dict[str, str]:
    before = request.query_params.get("before")
    return {"limit": "50", **({"before": before} if before else {})}


READS: dict[str, tuple[Read, ...]] = {
    "keys": (Read("keys", "/api/keys"),),
    "budgets": (Read("budgets", "/api/budgets"), Read("teams", "/api/teams")),
    "teams": (Read("teams", "/api/teams"),),
    "rate-limits": (Read("policies", "/api/rate-limits"),),
    "alerts": (
        Read("rules", "/api/alerts/rules"),
        Read("channels", "/api/alerts/channels"),
        Read("history", "/api/alerts/history", lambda _request: {"limit": "50"}),
    ),
    "webhooks": (Read("webhooks", "/api/webhooks"),),
    "cache": (Read("stats", "/api/cache/stats"),),
    "audit": (Read("changes", "/api/audit-log", _older),),
}

RULE_EXAMPLE = {
    "name": "Spend over $5 an hour",
    "metric": "cost_usd",
    "comparison": ">",
    "threshold": 5,
    "window": "1h",
    "channels": [],
}
CHANNEL_EXAMPLE = {
    "name": "ops",
    "type": "slack",
    "url": "https://hooks.slack.com/services/T0/B0/XYZ",
}


async def _render(
    request: Request,
    session: auth.Session,
    tab: str,
    *,
    error: str | None = None,
    status: int = 200,
    secret: str | None = None,
) -> Response:
    shown: dict[str, Any] = {}
    for read in READS[tab]:
        answer_status, body = await internal.get_json(
            request.app.state.api, read.path, session.principal, urlencode(read.query(request))
        )
        if answer_status != 200 or not isinstance(body, dict):
            error = error or internal.error_message(answer_status, body)
            status = answer_status if status == 200 else status
            shown = {}
            break
        shown[read.name] = body["data"]
        shown[f"{read.name}_next"] = body.get("next") or body.get("next_cursor")
    return page(
        f"admin/{tab.replace('-', '_')}.html",
        status,
        **_context(
            request,
            session,
            "admin",
            tab=tab,
            tabs=TABS,
            secret=secret,
            providers=[provider.name for provider in PROVIDERS],
            error=error,
            rule_example=orjson.dumps(RULE_EXAMPLE, option=orjson.OPT_INDENT_2).decode(),
            channel_example=orjson.dumps(CHANNEL_EXAMPLE, option=orjson.OPT_INDENT_2).decode(),
            **shown,
        ),
    )


@signed_in
async def admin_home(_request: Request, _session: auth.Session) -> Response:
    return RedirectResponse(f"/dashboard/admin/{TABS[0][0]}", status_code=303)


@signed_in
async def admin_page(request: Request, session: auth.Session) -> Response:
    tab = request.path_params["tab"]
    if tab not in READS:
        return page("notfound.html", 404, **_context(request, session, "admin"))
    return await _render(request, session, tab)


@dataclass(frozen=True)
class Action:
    """A form of a tab and the API call it makes. The form's path mirrors the call's
    unless given: ``POST /api/webhooks`` is ``POST /dashboard/admin/webhooks``, ``DELETE
    /api/webhooks/{id}`` is ``POST /dashboard/admin/webhooks/{id}/delete``. A ``{name}``
    of the call comes from the form's path, else from its field ``name``."""

    tab: str
    method: str
    api_path: str
    body: Callable[[dict[str, str]], object] | None = None
    form_path: str | None = None
    reveals: bool = False
    """The answer holds a new key's secret (``key``), shown once on the page."""

    @property
    def path(self) -> str:
        if self.form_path is not None:
            return self.form_path
        path = "/dashboard/admin" + self.api_path.removeprefix("/api")
        return path + "/delete" if self.method == "DELETE" else path

    def call_path(self, path_params: dict[str, str], form: dict[str, str]) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return quote(path_params.get(name) or form.get(name, "").strip(), safe="")

        return re.sub(r"\{(\w+)\}", value, self.api_path)


ACTIONS = (
    Action("keys", "POST", "/api/keys", new_key, reveals=True),
    Action("keys", "POST", "/api/keys/{id}/rotate", rotation, reveals=True),
    Action(
        "keys", "PATCH", "/api/keys/{id}", scopes, form_path="/dashboard/admin/keys/{id}/scopes"
    ),
    Action("keys", "DELETE", "/api/keys/{id}"),
    Action("budgets", "POST", "/api/budgets", budget),
    Action("budgets", "DELETE", "/api/budgets/{id}"),
    Action("teams", "POST", "/api/teams", lambda form: {"name": form.get("name", "")}),
    Action("teams", "DELETE", "/api/teams/{id}"),
    Action(
        "teams",
        "PUT",
        "/api/teams/{id}/keys/{key_id}",
        form_path="/dashboard/admin/teams/{id}/keys",
    ),
    Action(
        "teams",
        "DELETE",
        "/api/teams/{id}/keys/{key_id}",
        form_path="/dashboard/admin/teams/{id}/keys/{key_id}/delete",
    ),
    Action("rate-limits", "POST", "/api/rate-limits", policy),
    Action("rate-limits", "DELETE", "/api/rate-limits/{id}"),
    Action("alerts", "POST", "/api/alerts/rules", json_field),
    Action("alerts", "DELETE", "/api/alerts/rules/{id}"),
    Action("alerts", "POST", "/api/alerts/channels", json_field),
    Action("alerts", "DELETE", "/api/alerts/channels/{id}"),
    Action("webhooks", "POST", "/api/webhooks", webhook),
    Action("webhooks", "DELETE", "/api/webhooks/{id}"),
)


def _acting(action: Action) -> Callable[[Request], Any]:
    @signed_in
    async def act(request: Request, session: auth.Session) -> Response:
        form = await _form(request)
        if not auth.same(form.get("csrf_token"), session.csrf_token):
            return Response("CSRF token missing or wrong", 403)
        try:
            body = None if action.body is None else orjson.dumps(action.body(form))
        except FormError as exc:
            return await _render(request, session, action.tab, error=str(exc), status=400)
        api_path = action.call_path(request.path_params, form)
        status, answer = await internal.call_json(
            request.app.state.api, action.method, api_path, session.principal, body=body or b""
        )
        if status >= 400:
            return await _render(
                request,
                session,
                action.tab,
                error=internal.error_message(status, answer),
                status=status,
            )
        if action.reveals and isinstance(answer, dict):
            # Shown once, on this answer only: the store keeps its hash.
            return await _render(request, session, action.tab, secret=answer.get("key"))
        return RedirectResponse(f"/dashboard/admin/{action.tab}", status_code=303)

    return act


routes = [
    Route("/dashboard/admin", admin_home),
    Route("/dashboard/admin/{tab}", admin_page),
    *(Route(a.path, _acting(a), methods=["POST"]) for a in ACTIONS),
]
