"""The evaluators page: list, create and delete the org's evaluators, and run one now.

Every action is a call of the JSON API (``/api/evaluators``) in process, as the
signed-in session's key: the API checks the input and the key's role, and its error
message is what the page shows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relayscope.dashboard import auth, internal
from relayscope.dashboard.render import page
from relayscope.dashboard.views import _context, _form, signed_in
from relayscope.evaluators.model import KINDS

EXAMPLE_CONFIGS = {
    "regex": {"pattern": "\\bsorry\\b", "expect": "no_match", "ignore_case": True},
    "contains": {"text": "refund", "expect": "match"},
    "json_schema": {"schema": {"type": "object", "required": ["answer"]}},
    "length": {"max": 2000},
    "latency": {"max_ms": 5000},
    "cost": {"max_usd": 0.01},
    "llm_judge": {
        "model": "gpt-4o-mini",
        "prompt": "Question: {{input}}\nAnswer: {{output}}\n"
        "Is the answer correct and on topic? End with 'Verdict: PASS' or 'Verdict: FAIL'.",
    },
}


async def _render(
    request: Request,
    session: auth.Session,
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
    run: dict[str, Any] | None = None,
) -> Response:
    answer_status, body = await internal.get_json(
        request.app.state.api, "/api/evaluators", session.principal
    )
    listed = body.get("data", []) if answer_status == 200 and isinstance(body, dict) else []
    if answer_status != 200 and error is None:
        error = internal.error_message(answer_status, body)
    return page(
        "evaluators.html",
        status,
        **_context(
            request,
            session,
            "evaluators",
            evaluators=listed,
            kinds=KINDS,
            examples={k: orjson.dumps(v).decode() for k, v in EXAMPLE_CONFIGS.items()},
            form=form
            or {"kind": "contains", "config": orjson.dumps(EXAMPLE_CONFIGS["contains"]).decode()},
            error=error,
            run=run,
        ),
    )


@signed_in
async def evaluators_page(request: Request, session: auth.Session) -> Response:
    return await _render(request, session)


async def _checked_form(request: Request, session: auth.Session) -> dict[str, str] | None:
    form = await _form(request)
    return form if auth.same(form.get("csrf_token"), session.csrf_token) else None


@signed_in
async def create_evaluator(request: Request, session: auth.Session) -> Response:
    form = await _checked_form(request, session)
    if form is None:
        return Response("CSRF token missing or wrong", 403)
    try:
        config = orjson.loads(form.get("config", ""))
    except orjson.JSONDecodeError:
        return await _render(
            request, session, error="The config must be JSON", status=400, form=form
        )
    body: dict[str, Any] = {
        "name": form.get("name", ""),
        "kind": form.get("kind", ""),
        "config": config,
        "description": form.get("description", ""),
    }
    try:
        body["sample_rate"] = float(form.get("sample_rate") or 0)
    except ValueError:
        return await _render(
            request, session, error="The sample rate must be a number", status=400, form=form
        )
    status, answer = await internal.post_json(
        request.app.state.api, "/api/evaluators", session.principal, body
    )
    if status != 201:
        return await _render(
            request, session, error=internal.error_message(status, answer), status=status, form=form
        )
    return RedirectResponse("/dashboard/evaluators", status_code=303)


@signed_in
async def delete_evaluator(request: Request, session: auth.Session) -> Response:
    if await _checked_form(request, session) is None:
        return Response("CSRF token missing or wrong", 403)
    evaluator_id = quote(request.path_params["id"], safe="")
    status, answer = await internal.call_json(
        request.app.state.api, "DELETE", f"/api/evaluators/{evaluator_id}", session.principal
    )
    if status != 204:
        return await _render(
            request, session, error=internal.error_message(status, answer), status=status
        )
    return RedirectResponse("/dashboard/evaluators", status_code=303)


@signed_in
async def run_evaluator(request: Request, session: auth.Session) -> Response:
    """Runs over the explorer filter written in the form (``model=gpt-4o&...``)."""
    form = await _checked_form(request, session)
    if form is None:
        return Response("CSRF token missing or wrong", 403)
    filters = parse_qsl(form.get("filter", "").strip().lstrip("?"), keep_blank_values=True)
    if form.get("limit"):
        filters.append(("limit", form["limit"]))
    evaluator_id = quote(request.path_params["id"], safe="")
    status, answer = await internal.call_json(
        request.app.state.api,
        "POST",
        f"/api/evaluators/{evaluator_id}/run",
        session.principal,
        query=urlencode(filters),
    )
    if status != 200:
        return await _render(
            request, session, error=internal.error_message(status, answer), status=status
        )
    return await _render(request, session, run=answer["data"])
