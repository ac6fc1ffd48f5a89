"""``/api/datasets``: datasets of request/response pairs, their rows, JSONL in and out.

``GET    /api/datasets``                     the org's datasets, newest first
``POST   /api/datasets``                     ``{"name", "description"?}`` plus either
                                             ``"filter"`` (/api/requests' parameters)
                                             and ``"limit"``, or ``"request_ids"``
``GET    /api/datasets/{id}``                one dataset
``PATCH  /api/datasets/{id}``                ``{"name"?, "description"?}``
``DELETE /api/datasets/{id}``                the dataset and its rows
``GET    /api/datasets/{id}/rows``           rows in order (``offset``, ``limit``)
``POST   /api/datasets/{id}/rows``           ``{"messages", "output"?, "expected"?, ...}``
                                             or ``{"request_ids": [...]}``
``PATCH  /api/datasets/{id}/rows/{row_id}``  ``{"messages"?, "output"?, "expected"?}``
``DELETE /api/datasets/{id}/rows/{row_id}``
``GET    /api/datasets/{id}/export``         the rows as JSON Lines
``POST   /api/datasets/{id}/import``         JSON Lines appended as rows (all or none)

Reads take any key of the org; changes take an admin key (``api.auth``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api import params
from relayscope.api.auth import principal
from relayscope.api.requests import json_response
from relayscope.api.services import api_services
from relayscope.datasets import build, jsonl
from relayscope.datasets.repository import MAX_ROWS, DatasetRepository
from relayscope.datasets.rows import RowFields, row_changes, row_fields
from relayscope.errors import BadRequest

MAX_NAME = 200
MAX_DESCRIPTION = 2_000


def repository(request: Request) -> DatasetRepository:
    return DatasetRepository(api_services(request).store.database)


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise BadRequest("The request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def _known(body: dict[str, Any], fields: tuple[str, ...]) -> None:
    for key in body:
        if key not in fields:
            raise BadRequest(
                f"Unknown field {key!r}: the body takes {', '.join(fields)}", param=key
            )


def _name(body: dict[str, Any], *, required: bool) -> str | None:
    name = body.get("name")
    if name is None and not required:
        return None
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise BadRequest(
            f"'name' must be a non-empty string of at most {MAX_NAME} characters", param="name"
        )
    return name.strip()


def _description(body: dict[str, Any]) -> str | None:
    value = body.get("description")
    if value is not None and (not isinstance(value, str) or len(value) > MAX_DESCRIPTION):
        raise BadRequest(
            f"'description' must be a string of at most {MAX_DESCRIPTION} characters",
            param="description",
        )
    return value


async def _rows_from_log(request: Request, org_id: str, body: dict[str, Any]) -> build.Taken:
    logs = api_services(request).logs
    if "filter" in body and "request_ids" in body:
        raise BadRequest("Give either 'filter' or 'request_ids', not both", param="request_ids")
    if "request_ids" in body:
        if "limit" in body:
            raise BadRequest("'limit' goes with 'filter'", param="limit")
        return await build.from_ids(logs, org_id, build.request_ids(body["request_ids"]))
    if "filter" in body:
        query = build.filter_query(body["filter"])
        return await build.from_filter(logs, org_id, query, build.limit_of(body))
    if "limit" in body:
        raise BadRequest("'limit' goes with 'filter'", param="limit")
    return build.Taken([], [])


async def list_datasets(request: Request) -> Response:
    who = await principal(request)
    found = await repository(request).all(who.org_id)
    return json_response({"data": [d.to_json() for d in found]})


async def create_dataset(request: Request) -> Response:
    who = await principal(request)
    body = await json_body(request)
    _known(body, ("name", "description", "filter", "limit", "request_ids"))
    name = _name(body, required=True)
    assert name is not None
    description = _description(body)
    taken = await _rows_from_log(request, who.org_id, body)
    dataset = await repository(request).create(who.org_id, name, description, taken.rows)
    return json_response({"data": {**dataset.to_json(), "skipped": taken.skipped}}, 201)


async def get_dataset(request: Request) -> Response:
    who = await principal(request)
    dataset = await repository(request).require(who.org_id, request.path_params["id"])
    return json_response({"data": dataset.to_json()})


async def change_dataset(request: Request) -> Response:
    who = await principal(request)
    body = await json_body(request)
    _known(body, ("name", "description"))
    if not body:
        raise BadRequest("The body must change 'name' or 'description'")
    changes: dict[str, str | None] = {}
    if "name" in body:
        changes["name"] = _name(body, required=True)
    if "description" in body:
        changes["description"] = _description(body)
    dataset = await repository(request).rename(who.org_id, request.path_params["id"], changes)
    return json_response({"data": dataset.to_json()})


async def delete_dataset(request: Request) -> Response:
    who = await principal(request)
    await repository(request).delete(who.org_id, request.path_params["id"])
    return json_response({"data": {"id": request.path_params["id"], "deleted": True}})


async def list_rows(request: Request) -> Response:
    who = await principal(request)
    query = request.query_params
    params.reject_unknown(query, {"offset", "limit"})
    offset = params.integer(query, "offset", default=0, low=0, high=MAX_ROWS)
    limit = params.integer(query, "limit", default=100, low=1, high=1000)
    assert offset is not None and limit is not None
    repo = repository(request)
    dataset = await repo.require(who.org_id, request.path_params["id"])
    rows = await repo.rows(who.org_id, dataset.id, offset=offset, limit=limit)
    return json_response({"data": [r.to_json() for r in rows], "total": dataset.row_count})


async def add_rows(request: Request) -> Response:
    who = await principal(request)
    body = await json_body(request)
    dataset_id = request.path_params["id"]
    repo = repository(request)
    await repo.require(who.org_id, dataset_id)
    skipped: list[str] = []
    new: list[RowFields]
    if "request_ids" in body:
        _known(body, ("request_ids",))
        taken = await build.from_ids(
            api_services(request).logs, who.org_id, build.request_ids(body["request_ids"])
        )
        new, skipped = taken.rows, taken.skipped
    else:
        new = [row_fields(body)]
    added = await repo.add_rows(who.org_id, dataset_id, new)
    return json_response({"data": [r.to_json() for r in added], "skipped": skipped}, 201)


async def change_row(request: Request) -> Response:
    who = await principal(request)
    changes = row_changes(await json_body(request))
    row = await repository(request).change_row(
        who.org_id, request.path_params["id"], request.path_params["row_id"], changes
    )
    return json_response({"data": row.to_json()})


async def delete_row(request: Request) -> Response:
    who = await principal(request)
    await repository(request).delete_row(
        who.org_id, request.path_params["id"], request.path_params["row_id"]
    )
    return json_response({"data": {"id": request.path_params["row_id"], "deleted": True}})


async def export_rows(request: Request) -> Response:
    who = await principal(request)
    repo = repository(request)
    dataset = await repo.require(who.org_id, request.path_params["id"])
    rows = await repo.rows(who.org_id, dataset.id)
    return Response(
        jsonl.export(rows),
        media_type=jsonl.MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="dataset-{dataset.id}.jsonl"'},
    )


async def import_rows(request: Request) -> Response:
    who = await principal(request)
    repo = repository(request)
    dataset = await repo.require(who.org_id, request.path_params["id"])
    rows = jsonl.parse(await request.body())
    added = await repo.add_rows(who.org_id, dataset.id, rows)
    return json_response(
        {"data": {"imported": len(added), "row_count": dataset.row_count + len(added)}}
    )


routes = [
    Route("/api/datasets", list_datasets, methods=["GET"]),
    Route("/api/datasets", create_dataset, methods=["POST"]),
    Route("/api/datasets/{id}", get_dataset, methods=["GET"]),
    Route("/api/datasets/{id}", change_dataset, methods=["PATCH"]),
    Route("/api/datasets/{id}", delete_dataset, methods=["DELETE"]),
    Route("/api/datasets/{id}/rows", list_rows, methods=["GET"]),
    Route("/api/datasets/{id}/rows", add_rows, methods=["POST"]),
    Route("/api/datasets/{id}/rows/{row_id}", change_row, methods=["PATCH"]),
    Route("/api/datasets/{id}/rows/{row_id}", delete_row, methods=["DELETE"]),
    Route("/api/datasets/{id}/export", export_rows, methods=["GET"]),
    Route("/api/datasets/{id}/import", import_rows, methods=["POST"]),
]
