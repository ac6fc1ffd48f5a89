"""``/api/data/...`` and ``/api/redaction-rules``: retention, deletion, export, redaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from relayscope.api.auth import admin, principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available
from relayscope.errors import BadRequest, NotFound
from relayscope.governance import export as exporting
from relayscope.governance.redaction import REPLACEMENT, Rule, validate
from relayscope.governance.service import MAX_RETENTION_DAYS, Governance


def _governance(request: Request) -> Governance:
    return available(api_services(request).governance, "Governance settings")


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("Request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


async def get_retention(request: Request) -> Response:
    who = await admin(request)
    days = (await _governance(request).repo.retention()).get(who.org_id)
    return json_response({"data": {"days": days}})


async def put_retention(request: Request) -> Response:
    who = await principal(request)
    days = (await _json_body(request)).get("days")
    if days is not None and (
        not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_RETENTION_DAYS
    ):
        raise BadRequest(
            f"'days' must be an integer from 1 to {MAX_RETENTION_DAYS}, or null", param="days"
        )
    await _governance(request).repo.set_retention(who.org_id, days)
    return json_response({"data": {"days": days}})


async def list_rules(request: Request) -> Response:
    who = await admin(request)
    rules = await _governance(request).repo.rules(who.org_id)
    return json_response({"data": [_rule_json(rule) for _org, rule in rules]})


async def create_rule(request: Request) -> Response:
    who = await principal(request)
    body = await _json_body(request)
    kind = _string_field(body, "kind")
    value = _string_field(body, "value")
    replacement = _string_field(body, "replacement", REPLACEMENT)
    problem = validate(kind, value)
    if problem:
        raise BadRequest(problem, param="kind" if problem.startswith("kind") else "value")
    governance = _governance(request)
    rule = await governance.repo.add_rule(who.org_id, kind, value, replacement)
    await governance.refresh_rules()
    return json_response({"data": _rule_json(rule)}, 201)


async def delete_rule(request: Request) -> Response:
    who = await principal(request)
    governance = _governance(request)
    if not await governance.repo.delete_rule(who.org_id, request.path_params["id"]):
        raise NotFound(f"No redaction rule with id {request.path_params['id']!r}")
    await governance.refresh_rules()
    return Response(status_code=204)


async def delete_user_data(request: Request) -> Response:
    who = await principal(request)
    report = await _governance(request).delete_user(who.org_id, request.path_params["user_id"])
    return json_response({"data": {"deleted": report}})


async def export(request: Request) -> Response:
    who = await admin(request)
    unknown = set(request.query_params) - {"user_id", "format"}
    if unknown:
        name = sorted(unknown)[0]
        raise BadRequest(f"Invalid query parameter '{name}': unknown parameter", param=name)
    user_id = request.query_params.get("user_id")
    fmt = request.query_params.get("format", "jsonl")
    if fmt not in exporting.FORMATS:
        raise BadRequest(
            f"Invalid query parameter 'format': one of {', '.join(exporting.FORMATS)}",
            param="format",
        )
    records = _governance(request).repo.export(who.org_id, user_id=user_id)
    # Reach the store before the response starts: an outage is then a 503, not a cut stream.
    first = await anext(records, None)

    async def lines() -> AsyncIterator[bytes]:
        if fmt == "csv":
            yield exporting.csv_header()
        if first is None:
            return
        yield exporting.line(fmt, *first)
        async for record, held in records:
            yield exporting.line(fmt, record, held)

    return StreamingResponse(lines(), media_type=exporting.MEDIA_TYPES[fmt])


def _string_field(body: dict[str, Any], name: str, default: str | None = None) -> str:
    field = body.get(name, default)
    if not isinstance(field, str):
        raise BadRequest(f"'{name}' must be a string", param=name)
    return field


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "kind": rule.kind, "value": rule.value, "replacement": rule.replacement}


routes = [
    Route("/api/data/retention", get_retention, methods=["GET"]),
    Route("/api/data/retention", put_retention, methods=["PUT"]),
    Route("/api/data/users/{user_id}", delete_user_data, methods=["DELETE"]),
    Route("/api/data/export", export, methods=["GET"]),
    Route("/api/redaction-rules", list_rules, methods=["GET"]),
    Route("/api/redaction-rules", create_rule, methods=["POST"]),
    Route("/api/redaction-rules/{id}", delete_rule, methods=["DELETE"]),
]
