"""Helpers for writing the description: schema shorthands, operations, parameters."""

from __future__ import annotations

import dataclasses
from typing import Any

from relayscope.record import LogRecord

Schema = dict[str, Any]

OPENAPI_PATH = "/api/openapi.json"
JSON = "application/json"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(
    required: dict[str, Schema], optional: dict[str, Schema] | None = None, **extra: Any
) -> Schema:
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **(optional or {})},
        **extra,
    }


def data(schema: Schema) -> Schema:
    """The API's envelope: ``{"data": ...}``."""
    return obj({"data": schema})


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
ANY: Schema = {}
NUMBER: Schema = {"type": "number"}
NULLABLE_TIME: Schema = {"anyOf": [TIMESTAMP, {"type": "null"}]}
CLOSED: Schema = {"additionalProperties": False}
"""For bodies whose unknown fields the API refuses."""

_SCALARS = {
    "str": STRING,
    "int": INTEGER,
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "datetime": TIMESTAMP,
}


def _field_schema(annotation: str) -> Schema:
    """JSON Schema of a ``LogRecord`` field from its (string) annotation."""
    parts = [part.strip() for part in annotation.split("|")]
    optional = "None" in parts
    (base,) = [part for part in parts if part != "None"]
    if base in _SCALARS:
        schema = _SCALARS[base]
    elif base.startswith("dict[str, str]"):
        schema = {"type": "object", "additionalProperties": STRING}
    elif base.startswith("dict"):
        schema = {"type": "object"}
    elif base == "list[str]":
        schema = {"type": "array", "items": STRING}
    elif base.startswith("list"):
        schema = {"type": "array", "items": {"type": "object"}}
    else:
        raise ValueError(f"no JSON schema for LogRecord annotation {annotation!r}")
    return nullable(schema) if optional else schema


INTERNAL_FIELDS = ("record_uid",)
"""``LogRecord`` fields the API does not show (``api.requests.record_json``)."""


def record_schema(*, bodies: bool) -> Schema:
    """A log record as ``api.requests.record_json`` renders it."""
    properties: dict[str, Schema] = {}
    for field in dataclasses.fields(LogRecord):
        if field.name in INTERNAL_FIELDS:
            continue
        if field.name in ("request_body", "response_body"):
            if bodies:
                properties[field.name] = {
                    "description": "The body as JSON when it parses, else the raw text; "
                    "null when omitted (Helicone-Omit-*) or deleted.",
                }
            continue
        properties[field.name] = _field_schema(str(field.type))
    return {"type": "object", "required": list(properties), "properties": properties}


ERROR: Schema = obj(
    {
        "error": obj(
            {"message": STRING, "type": STRING, "code": STRING},
            {"param": {"type": "string", "description": "The parameter, field or header at fault"}},
        )
    }
)

_ERRORS = {
    400: "Invalid parameter, field or body; `error.param` names it.",
    401: "Missing or unknown gateway key (`Authorization: Bearer <gateway key>`).",
    403: "An admin key is needed (`error.code` `admin_key_required`): this key may only "
    "proxy and read its org's logs.",
    404: "No such resource in this org.",
    405: "Method not allowed on this path.",
    409: "Conflict with the current state.",
    413: "The body is larger than the limit.",
    503: "A store the API needs is unavailable; retry later.",
}


def error(status: int) -> Schema:
    return answer(_ERRORS[status], ref("Error"))


def answer(description: str, schema: Schema, media: str = JSON) -> Schema:
    return {"description": description, "content": {media: {"schema": schema}}}


def operation(
    summary: str,
    ok: Schema,
    *,
    status: int = 200,
    errors: tuple[int, ...] = (),
    params: list[Schema] | None = None,
    body: Schema | None = None,
    example: Any = None,
    tag: str,
    public: bool = False,
    admin: bool = False,
    description: str | None = None,
    body_media: str = JSON,
    also: dict[int, Schema] | None = None,
) -> Schema:
    """One operation; every authenticated one may answer 401, an ``admin`` one 403 to a
    proxy key, any one with inputs 400, and any one 503. ``also``: other successes (a
    201 that may be a 200), by status.

    A body (of ``body_media``) needs a valid ``example``: users copy it, and the
    org-isolation test sends it.
    """
    # Any parameter or body may carry a NUL character, which is a 400 (``api.nul``).
    refusable = (400,) if params or body is not None else ()
    roles = (403,) if admin else ()
    codes = sorted({*errors, *refusable, *roles, *(() if public else (401,)), 503})
    op: Schema = {
        "summary": summary,
        "tags": [tag],
        "responses": {
            str(status): ok,
            **{str(code): other for code, other in (also or {}).items()},
            **{str(code): error(code) for code in codes},
        },
    }
    if description:
        op["description"] = description
    if params:
        op["parameters"] = params
    if body is not None:
        if example is None:
            raise ValueError(f"{summary!r}: a request body needs an example")
        op["requestBody"] = {
            "required": True,
            "content": {body_media: {"schema": body, "example": example}},
        }
    if public:
        op["security"] = []
    return op


def query(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def path(name: str, schema: Schema, description: str) -> Schema:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": schema,
        "description": description,
    }
