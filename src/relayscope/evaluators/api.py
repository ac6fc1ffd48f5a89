"""``/api/evaluators``: an org's evaluators (admin keys), and runs on demand.

``GET/POST /api/evaluators``, ``GET/PATCH/DELETE /api/evaluators/{id}``
``POST /api/evaluators/{id}/run``
    The explorer's filter as query parameters (those of ``/api/requests``) and
    ``limit`` (default 100, at most ``MAX_REQUESTS_PER_RUN``): the newest matching
    requests are evaluated. Or a body ``{"request_ids": [...]}``: those requests.
    Answers the run's summary; the verdicts are stored as scores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api import params
from relayscope.api.auth import admin
from relayscope.api.requests import FILTER_PREFIXES, LIST_PARAMS, json_response, parse_filter
from relayscope.api.services import api_services, available
from relayscope.errors import BadRequest, NotFound
from relayscope.evaluators import spec
from relayscope.evaluators.model import Evaluator
from relayscope.evaluators.runner import MAX_REQUESTS_PER_RUN
from relayscope.scores.api import canonical_id

if TYPE_CHECKING:
    from relayscope.evaluators.service import Evaluators

DEFAULT_RUN_LIMIT = 100
RUN_PARAMS = LIST_PARAMS - {"cursor", "after", "sort", "order"}


def _service(request: Request) -> Evaluators:
    return available(api_services(request).evaluators, "Evaluators")


def evaluator_json(evaluator: Evaluator) -> dict[str, Any]:
    return {
        "id": evaluator.id,
        "name": evaluator.name,
        "kind": evaluator.kind,
        "config": evaluator.check.config(),
        "sample_rate": evaluator.sample_rate,
        "description": evaluator.description,
        "created_at": evaluator.created_at.isoformat(),
        "scored": evaluator.scored,
        "failed": evaluator.failed,
        "last_error": evaluator.last_error,
        "last_error_at": None
        if evaluator.last_error_at is None
        else evaluator.last_error_at.isoformat(),
    }


async def list_evaluators(request: Request) -> Response:
    who = await admin(request)
    found = await _service(request).repository.of_org(who.org_id)
    return json_response({"data": [evaluator_json(e) for e in found]})


async def create_evaluator(request: Request) -> Response:
    who = await admin(request)
    body = spec.json_object(await request.body())
    spec.known_fields(body, spec.FIELDS)
    for required in ("name", "kind", "config"):
        if required not in body:
            raise BadRequest(f"The body needs the field {required!r}", param=required)
    name = spec.name(body["name"])
    check = spec.check(spec.kind(body["kind"]), body["config"])
    service = _service(request)
    created = await service.repository.create(
        who.org_id,
        name,
        check,
        sample_rate=spec.sample_rate(body.get("sample_rate", 0)),
        description=spec.description(body.get("description", "")),
    )
    service.changed()
    return json_response({"data": evaluator_json(created)}, 201)


async def get_evaluator(request: Request) -> Response:
    who = await admin(request)
    found = await _service(request).get(who.org_id, request.path_params["id"])
    return json_response({"data": evaluator_json(found)})


async def update_evaluator(request: Request) -> Response:
    """Change ``config`` (of the same kind), ``sample_rate`` or ``description``; the
    name stays, as scores already stored carry it."""
    who = await admin(request)
    service = _service(request)
    current = await service.get(who.org_id, request.path_params["id"])
    body = spec.json_object(await request.body())
    spec.known_fields(body, spec.UPDATABLE)
    updated = await service.repository.update(
        who.org_id,
        current.id,
        check=spec.check(current.kind, body["config"]) if "config" in body else None,
        sample_rate=spec.sample_rate(body["sample_rate"]) if "sample_rate" in body else None,
        description=spec.description(body["description"]) if "description" in body else None,
    )
    if updated is None:
        raise NotFound(f"No evaluator with id {current.id!r}")
    service.changed()
    return json_response({"data": evaluator_json(updated)})


async def delete_evaluator(request: Request) -> Response:
    who = await admin(request)
    service = _service(request)
    evaluator_id = request.path_params["id"]
    if not await service.repository.delete(who.org_id, evaluator_id):
        raise NotFound(f"No evaluator with id {evaluator_id!r}")
    service.changed()
    return Response(status_code=204)


async def run_evaluator(request: Request) -> Response:
    who = await admin(request)
    service = _service(request)
    evaluator_id = request.path_params["id"]
    query = request.query_params
    raw = await request.body()
    if raw.strip():
        body = spec.json_object(raw)
        spec.known_fields(body, ("request_ids",))
        if query:
            raise BadRequest(
                "Give either a filter (query parameters) or 'request_ids' (body), not both",
                param="request_ids",
            )
        summary = await service.evaluate_requests(
            who.org_id, evaluator_id, _request_ids(body.get("request_ids"))
        )
    else:
        params.reject_unknown(query, RUN_PARAMS, FILTER_PREFIXES)
        limit = params.integer(
            query, "limit", default=DEFAULT_RUN_LIMIT, low=1, high=MAX_REQUESTS_PER_RUN
        )
        assert limit is not None  # it has a default
        summary = await service.evaluate_filter(
            who.org_id, evaluator_id, parse_filter(query), limit=limit
        )
    return json_response({"data": summary.to_json()})


def _request_ids(value: object) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_REQUESTS_PER_RUN
        or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)
    ):
        raise BadRequest(
            f"'request_ids' must be a list of 1 to {MAX_REQUESTS_PER_RUN} request ids",
            param="request_ids",
        )
    return [canonical_id(v) for v in value]


routes = [
    Route("/api/evaluators", list_evaluators, methods=["GET"]),
    Route("/api/evaluators", create_evaluator, methods=["POST"]),
    Route("/api/evaluators/{id}", get_evaluator, methods=["GET"]),
    Route("/api/evaluators/{id}", update_evaluator, methods=["PATCH"]),
    Route("/api/evaluators/{id}", delete_evaluator, methods=["DELETE"]),
    Route("/api/evaluators/{id}/run", run_evaluator, methods=["POST"]),
]
