"""``/api/experiments``: run a dataset against variants through the gateway, compare.

``GET  /api/experiments``                  the org's experiments, newest first
``POST /api/experiments``                  ``{"name", "dataset_id", "variants",
                                           "concurrency"?, "assumed_output_tokens"?}``:
                                           a draft with its cost estimate (201)
``GET  /api/experiments/{id}``             status, progress and estimate
``POST /api/experiments/{id}/start``       confirm the estimate and run (202)
``POST /api/experiments/{id}/cancel``      stop a run; results so far are kept
``GET  /api/experiments/{id}/comparison``  rows side by side and the summary
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.auth import principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available
from relayscope.datasets.api import json_body
from relayscope.datasets.repository import DatasetRepository
from relayscope.errors import BadRequest, Conflict
from relayscope.experiments import compare, estimate
from relayscope.experiments.repository import DRAFT, RUNNING
from relayscope.experiments.runner import ExperimentRunner
from relayscope.experiments.variants import Variant, parse_variants

DEFAULT_CONCURRENCY = 2
MAX_CONCURRENCY = 16
MAX_OUTPUT_TOKENS = 1_000_000
FIELDS = ("name", "dataset_id", "variants", "concurrency", "assumed_output_tokens")


def runner(request: Request) -> ExperimentRunner:
    return available(api_services(request).experiments, "Experiments")


def _integer(body: dict[str, object], name: str, default: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise BadRequest(f"'{name}' must be an integer from 1 to {high}", param=name)
    return value


async def _prompt_texts(
    request: Request, org_id: str, variants: list[Variant]
) -> dict[str, estimate.PromptText]:
    catalog = api_services(request).prompts
    found: dict[str, estimate.PromptText] = {}
    for n, variant in enumerate(variants):
        if variant.prompt_id is None or variant.prompt_version is None:
            continue
        version = (
            await catalog.version(org_id, variant.prompt_id, variant.prompt_version)
            if catalog is not None
            else None
        )
        if version is None:
            raise BadRequest(
                f"No version {variant.prompt_version} of prompt {variant.prompt_id!r}",
                param=f"variants[{n}].prompt_version",
            )
        found[variant.name] = estimate.PromptText(version.model, version.template.messages)
    return found


async def list_experiments(request: Request) -> Response:
    who = await principal(request)
    found = await runner(request).repository.all(who.org_id)
    return json_response({"data": [e.to_json() for e in found]})


async def create_experiment(request: Request) -> Response:
    who = await principal(request)
    run = runner(request)
    body = await json_body(request)
    for key in body:
        if key not in FIELDS:
            raise BadRequest(
                f"Unknown field {key!r}: the body takes {', '.join(FIELDS)}", param=key
            )
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadRequest(
            "'name' must be a non-empty string of at most 200 characters", param="name"
        )
    dataset_id = body.get("dataset_id")
    if not isinstance(dataset_id, str):
        raise BadRequest("'dataset_id' must name one of the org's datasets", param="dataset_id")
    variants = parse_variants(body.get("variants"))
    concurrency = _integer(body, "concurrency", DEFAULT_CONCURRENCY, MAX_CONCURRENCY)
    output_tokens = _integer(
        body, "assumed_output_tokens", estimate.DEFAULT_OUTPUT_TOKENS, MAX_OUTPUT_TOKENS
    )
    datasets = DatasetRepository(api_services(request).store.database)
    dataset = await datasets.require(who.org_id, dataset_id)
    if dataset.row_count == 0:
        raise BadRequest("The dataset has no rows to run", param="dataset_id")
    rows = await datasets.rows(who.org_id, dataset.id)
    prompts = await _prompt_texts(request, who.org_id, variants)
    cost = await asyncio.to_thread(estimate.estimate, rows, variants, prompts, output_tokens)
    experiment = await run.repository.create(
        who.org_id,
        dataset_id=dataset.id,
        name=name.strip(),
        variants=variants,
        concurrency=concurrency,
        estimate=cost,
        total=len(rows) * len(variants),
    )
    return json_response({"data": experiment.to_json()}, 201)


async def get_experiment(request: Request) -> Response:
    who = await principal(request)
    experiment = await runner(request).repository.require(who.org_id, request.path_params["id"])
    return json_response({"data": experiment.to_json()})


async def start_experiment(request: Request) -> Response:
    who = await principal(request)
    run = runner(request)
    experiment = await run.repository.require(who.org_id, request.path_params["id"])
    if not await run.repository.move(who.org_id, experiment.id, frm=(DRAFT,), to=RUNNING):
        raise Conflict(
            f"The experiment is {experiment.status}: only a draft can be started "
            "(create a new experiment to run it again)",
            code="experiment_not_draft",
        )
    await run.start(who, experiment)
    started = await run.repository.require(who.org_id, experiment.id)
    return json_response({"data": started.to_json()}, 202)


async def cancel_experiment(request: Request) -> Response:
    who = await principal(request)
    run = runner(request)
    experiment = await run.repository.require(who.org_id, request.path_params["id"])
    if not await run.cancel(who.org_id, experiment.id):
        raise Conflict(
            f"The experiment is {experiment.status}: only a running one can be cancelled",
            code="experiment_not_running",
        )
    cancelled = await run.repository.require(who.org_id, experiment.id)
    return json_response({"data": cancelled.to_json()})


async def experiment_comparison(request: Request) -> Response:
    who = await principal(request)
    return json_response(
        {"data": await comparison_of(request, who.org_id, request.path_params["id"])}
    )


async def comparison_of(request: Request, org_id: str, experiment_id: str) -> dict[str, object]:
    services = api_services(request)
    run = runner(request)
    experiment = await run.repository.require(org_id, experiment_id)
    rows = await DatasetRepository(services.store.database).rows(org_id, experiment.dataset_id)
    results = await run.repository.results(org_id, experiment.id)
    ids = [r.request_id for r in results if r.request_id is not None]
    measures = await compare.measured(services.logs, services.store.database, org_id, ids)
    return compare.comparison(experiment, rows, results, measures)


routes = [
    Route("/api/experiments", list_experiments, methods=["GET"]),
    Route("/api/experiments", create_experiment, methods=["POST"]),
    Route("/api/experiments/{id}", get_experiment, methods=["GET"]),
    Route("/api/experiments/{id}/start", start_experiment, methods=["POST"]),
    Route("/api/experiments/{id}/cancel", cancel_experiment, methods=["POST"]),
    Route("/api/experiments/{id}/comparison", experiment_comparison, methods=["GET"]),
]
