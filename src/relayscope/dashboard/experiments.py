"""Dashboard pages for datasets and experiments. They call the JSON API in-process for
the session's org (``internal``), so the pages and the API cannot disagree."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from relayscope.dashboard import auth, internal
from relayscope.dashboard.render import page
from relayscope.dashboard.views import _context, _form, signed_in

VARIANT_SLOTS = 3
"""Variants the new-experiment form offers (the API takes up to ten)."""


async def _api(
    request: Request, session: auth.Session, method: str, path: str, body: object = None
) -> tuple[int, Any]:
    payload = orjson.dumps(body) if body is not None else b""
    return await internal.call_json(
        request.app.state.api, method, path, session.principal, body=payload
    )


def _error(answer: Any) -> str:
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        return str(answer["error"].get("message"))
    return "The request failed"


def _forbidden(form: dict[str, str], session: auth.Session) -> Response | None:
    if not auth.same(form.get("csrf_token"), session.csrf_token):
        return Response("CSRF token missing or wrong", 403)
    return None


@signed_in
async def datasets_page(request: Request, session: auth.Session) -> Response:
    _s, datasets = await _api(request, session, "GET", "/api/datasets")
    _s, experiments = await _api(request, session, "GET", "/api/experiments")
    return page(
        "datasets.html",
        **_context(
            request,
            session,
            "datasets",
            datasets=datasets["data"],
            experiments=experiments["data"],
        ),
    )


@signed_in
async def dataset_page(request: Request, session: auth.Session) -> Response:
    dataset_id = quote(request.path_params["id"], safe="")
    status, dataset = await _api(request, session, "GET", f"/api/datasets/{dataset_id}")
    if status != 200:
        return page("notfound.html", 404, session=session, path=request.url.path, section=None)
    _s, rows = await _api(request, session, "GET", f"/api/datasets/{dataset_id}/rows")
    return page(
        "dataset.html",
        **_context(
            request,
            session,
            "datasets",
            dataset=dataset["data"],
            rows=rows["data"],
            slots=range(VARIANT_SLOTS),
            error=request.query_params.get("error"),
        ),
    )


@signed_in
async def edit_row(request: Request, session: auth.Session) -> Response:
    form = await _form(request)
    refused = _forbidden(form, session)
    if refused is not None:
        return refused
    dataset_id = quote(request.path_params["id"], safe="")
    row_id = quote(request.path_params["row_id"], safe="")
    expected = form.get("expected", "")
    await _api(
        request,
        session,
        "PATCH",
        f"/api/datasets/{dataset_id}/rows/{row_id}",
        {"expected": expected or None},
    )
    return RedirectResponse(f"/dashboard/datasets/{dataset_id}#row-{row_id}", status_code=303)


def _variants(form: dict[str, str]) -> list[dict[str, Any]]:
    variants = []
    for n in range(VARIANT_SLOTS):
        name, model = form.get(f"name{n}", "").strip(), form.get(f"model{n}", "").strip()
        if not name and not model:
            continue
        variant: dict[str, Any] = {"name": name or model, "model": model or None}
        temperature = form.get(f"temperature{n}", "").strip()
        if temperature:
            try:
                variant["parameters"] = {"temperature": float(temperature)}
            except ValueError:
                variant["parameters"] = {"temperature": temperature}
        variants.append(variant)
    return variants


@signed_in
async def create_experiment(request: Request, session: auth.Session) -> Response:
    form = await _form(request)
    refused = _forbidden(form, session)
    if refused is not None:
        return refused
    dataset_id = form.get("dataset_id", "")
    body: dict[str, Any] = {
        "name": form.get("name", ""),
        "dataset_id": dataset_id,
        "variants": _variants(form),
    }
    status, answer = await _api(request, session, "POST", "/api/experiments", body)
    if status != 201:
        target = f"/dashboard/datasets/{quote(dataset_id, safe='')}?error={quote(_error(answer))}"
        return RedirectResponse(target, status_code=303)
    return RedirectResponse(f"/dashboard/experiments/{answer['data']['id']}", status_code=303)


@signed_in
async def start_experiment(request: Request, session: auth.Session) -> Response:
    form = await _form(request)
    refused = _forbidden(form, session)
    if refused is not None:
        return refused
    experiment_id = quote(request.path_params["id"], safe="")
    action = "cancel" if form.get("action") == "cancel" else "start"
    await _api(request, session, "POST", f"/api/experiments/{experiment_id}/{action}")
    return RedirectResponse(f"/dashboard/experiments/{experiment_id}", status_code=303)


@signed_in
async def experiment_page(request: Request, session: auth.Session) -> Response:
    experiment_id = quote(request.path_params["id"], safe="")
    status, answer = await _api(
        request, session, "GET", f"/api/experiments/{experiment_id}/comparison"
    )
    if status != 200:
        return page("notfound.html", 404, session=session, path=request.url.path, section=None)
    comparison = answer["data"]
    scores = sorted({name for s in comparison["summary"] for name in s["mean_scores"]})
    return page(
        "experiment.html",
        **_context(
            request,
            session,
            "datasets",
            experiment=comparison["experiment"],
            comparison=comparison,
            score_names=scores,
            best=comparison["best"],
        ),
    )
