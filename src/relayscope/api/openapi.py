"""The OpenAPI 3.1 description of the JSON API, served at ``GET /api/openapi.json``.

Every route of the API app must appear here (``tests/api/test_openapi.py`` fails
otherwise): a feature that adds routes adds their operations to ``PATHS``. Schemas
mirror what the handlers return; errors are the OpenAI-style object of ``errors.py``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.alerts.channels import KINDS as CHANNEL_KINDS
from relayscope.alerts.rules import COMPARISONS as ALERT_COMPARISONS
from relayscope.alerts.rules import METRICS as ALERT_METRICS
from relayscope.alerts.rules import MODES as ALERT_MODES
from relayscope.governance.redaction import DETECTORS, MAX_PATTERN_LENGTH
from relayscope.governance.service import MAX_RETENTION_DAYS
from relayscope.logs.record import LogRecord
from relayscope.providers.registry import PROVIDERS

Schema = dict[str, Any]

OPENAPI_PATH = "/api/openapi.json"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Schema], optional: dict[str, Schema] | None = None, **extra) -> Schema:
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
CLOSED = {"additionalProperties": False}
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
    elif base.startswith("list"):
        schema = {"type": "array", "items": {"type": "object"}}
    else:
        raise ValueError(f"no JSON schema for LogRecord annotation {annotation!r}")
    return nullable(schema) if optional else schema


def record_schema(*, bodies: bool) -> Schema:
    """A log record as ``api.requests.record_json`` renders it."""
    properties: dict[str, Schema] = {}
    for field in dataclasses.fields(LogRecord):
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
    404: "No such resource in this org.",
    405: "Method not allowed on this path.",
    409: "Conflict with the current state.",
    503: "A store the API needs is unavailable; retry later.",
}


def _error(status: int) -> Schema:
    return _json(_ERRORS[status], ref("Error"))


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


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
    description: str | None = None,
) -> Schema:
    """One operation; every authenticated one may answer 401, and any one 503.

    A body needs a valid ``example``: users copy it, and the org-isolation test sends it.
    """
    codes = sorted({*errors, *(() if public else (401,)), 503})
    op: Schema = {
        "summary": summary,
        "tags": [tag],
        "responses": {str(status): ok, **{str(code): _error(code) for code in codes}},
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
            "content": {"application/json": {"schema": body, "example": example}},
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


STATUS_PATTERN = "^[1-5][0-9]{2}$"
PROMPT_ID: Schema = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"}
LABEL: Schema = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9._-]{0,63}$"}
SELECTOR: Schema = {
    "description": "A version number or a label name (default: the production label, "
    "else the latest version).",
    "anyOf": [{"type": "integer", "minimum": 1}, LABEL],
}
MESSAGES: Schema = {
    "type": "array",
    "items": {"$ref": "#/components/schemas/Message"},
    "minItems": 1,
    "description": "Chat messages; {{name}} placeholders are the template's variables.",
}
MESSAGE: Schema = {
    "type": "object",
    "required": ["role"],
    "properties": {"role": {"type": "string", "minLength": 1}, "content": ANY},
}
VERSION_FIELDS: dict[str, Schema] = {
    "system": {"description": "Anthropic-style system prompt: a string or content parts."},
    "model": {"type": "string", "minLength": 1, "maxLength": 200},
    "parameters": {"type": "object", "description": "Default request body fields."},
    "note": {"type": "string", "maxLength": 2000},
    "labels": {"type": "array", "items": LABEL, "description": "Labels to point at it."},
}

SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Message": MESSAGE,
    "RequestSummary": record_schema(bodies=False),
    "Request": record_schema(bodies=True),
    "Retention": obj(
        {"days": nullable({"type": "integer", "minimum": 1, "maximum": MAX_RETENTION_DAYS})}
    ),
    "RedactionRule": obj(
        {
            "id": STRING,
            "kind": {"enum": ["detector", "pattern"]},
            "value": STRING,
            "replacement": STRING,
        }
    ),
    "ProviderKey": obj({"provider": STRING, "created_at": TIMESTAMP, "last4": STRING}),
    "CacheStats": obj(
        {
            name: INTEGER
            for name in ("hits", "semantic_hits", "misses", "stores", "evictions", "backend_errors")
        }
    ),
    "PromptSummary": obj(
        {
            "id": STRING,
            "created_at": TIMESTAMP,
            "latest_version": INTEGER,
            "labels": {"type": "object", "additionalProperties": INTEGER},
        }
    ),
    "PromptVersion": obj(
        {
            "prompt_id": STRING,
            "version": INTEGER,
            "messages": {"type": "array"},
            "system": ANY,
            "model": nullable(STRING),
            "parameters": {"type": "object"},
            "variables": {"type": "array", "items": STRING},
            "note": nullable(STRING),
            "created_by": nullable(STRING),
            "created_at": TIMESTAMP,
        },
        {"labels": {"type": "array", "items": STRING}},
    ),
}
NULLABLE_TIME = nullable(TIMESTAMP)
NUMBER: Schema = {"type": "number"}
DURATION: Schema = {
    "description": "A duration such as 30s, 5m, 1h or 1d, or a number of seconds.",
    "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 1}],
}
ALERT_FILTERS: Schema = obj(
    {},
    {
        "model": STRING,
        "provider": STRING,
        "user_id": STRING,
        "properties": {"type": "object", "additionalProperties": STRING},
    },
)
SCHEMAS.update(
    {
        "AlertRule": obj(
            {
                "id": STRING,
                "name": STRING,
                "metric": {"enum": list(ALERT_METRICS)},
                "comparison": {"enum": list(ALERT_COMPARISONS)},
                "threshold": NUMBER,
                "window": STRING,
                "window_seconds": INTEGER,
                "filters": ALERT_FILTERS,
                "min_requests": INTEGER,
                "mode": {"enum": list(ALERT_MODES)},
                "cooldown": STRING,
                "cooldown_seconds": INTEGER,
                "channels": {"type": "array", "items": STRING},
                "enabled": {"type": "boolean"},
                "description": STRING,
                "state": {"enum": ["ok", "firing", "resolved"]},
                "value": nullable(NUMBER),
                "baseline": nullable(NUMBER),
                "request_count": nullable(INTEGER),
                "evaluated_at": NULLABLE_TIME,
                "last_fired_at": NULLABLE_TIME,
                "state_changed_at": NULLABLE_TIME,
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
            }
        ),
        "AlertChannel": obj(
            {
                "id": STRING,
                "name": STRING,
                "type": {"enum": list(CHANNEL_KINDS)},
                "config": {
                    "type": "object",
                    "description": "url masked, secret never shown; email: the addresses.",
                },
                "created_at": TIMESTAMP,
            }
        ),
        "AlertEvent": obj(
            {
                "id": STRING,
                "rule_id": STRING,
                "rule_name": STRING,
                "kind": STRING,
                "value": nullable(NUMBER),
                "baseline": nullable(NUMBER),
                "threshold": NUMBER,
                "request_count": INTEGER,
                "window_start": TIMESTAMP,
                "window_end": TIMESTAMP,
                "deliveries": {"type": "array", "items": {"type": "object"}},
                "created_at": TIMESTAMP,
            }
        ),
        "Delivery": obj(
            {
                "ok": {"type": "boolean"},
                "attempts": INTEGER,
                "status": nullable(INTEGER),
                "error": nullable(STRING),
            }
        ),
        "Webhook": obj(
            {
                "id": STRING,
                "url": {"type": "string", "description": "Masked."},
                "secret": {"type": "string", "description": "Always masked."},
                "include_bodies": {"type": "boolean"},
                "properties": {"type": "object", "additionalProperties": STRING},
                "created_at": TIMESTAMP,
            }
        ),
        "RateLimit": obj(
            {
                "id": STRING,
                "org_id": STRING,
                "key_id": nullable(STRING),
                "policy": STRING,
                "quota": NUMBER,
                "window": INTEGER,
                "unit": {"enum": ["request", "cents"]},
                "segment": nullable(STRING),
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
            }
        ),
    }
)
SCHEMAS["Prompt"] = {
    "allOf": [ref("PromptSummary"), obj({"version": ref("PromptVersion")})],
}

_REQUEST_FILTERS = [
    query("user_id", STRING, "Helicone-User-Id the request carried."),
    query("session_id", STRING, "Helicone-Session-Id."),
    query("model", STRING, "Requested model."),
    query("provider", STRING, "Provider name, e.g. openai."),
    query(
        "status",
        {"anyOf": [{"enum": ["success", "error"]}, {"type": "string", "pattern": STATUS_PATTERN}]},
        "An HTTP status, or success / error.",
    ),
    query("request_name", STRING, "Helicone-Request-Name."),
    query("prompt_id", STRING, "Helicone-Prompt-Id the body was filled from."),
    query("prompt_version", {"type": "integer", "minimum": 1, "maximum": 10**9}, "Prompt version."),
    query("from", TIMESTAMP, "Records created at or after (ISO 8601)."),
    query("to", TIMESTAMP, "Records created before (ISO 8601)."),
]

RULE_BODY = obj(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "metric": {"enum": list(ALERT_METRICS)},
        "threshold": NUMBER,
        "window": DURATION,
    },
    {
        "comparison": {"enum": list(ALERT_COMPARISONS)},
        "filters": ALERT_FILTERS,
        "min_requests": {
            "type": "integer",
            "minimum": 1,
            "description": "Only for error_rate and latency metrics.",
        },
        "mode": {"enum": list(ALERT_MODES)},
        "cooldown": DURATION,
        "channels": {"type": "array", "items": STRING, "maxItems": 20},
        "enabled": {"type": "boolean"},
    },
    **CLOSED,
)
RULE_EXAMPLE = {
    "name": "Spend over $5 an hour",
    "metric": "cost_usd",
    "comparison": ">",
    "threshold": 5,
    "window": "1h",
    "channels": [],
}
SECRET: Schema = {"type": "string", "minLength": 16, "maxLength": 256}
ID = path("id", STRING, "The id.")

OPERATOR_PATHS: dict[str, dict[str, Schema]] = {
    # alerts, request webhooks, rate limits
    "/api/alerts/rules": {
        "get": operation(
            "The org's alert rules",
            _json("Rules.", data({"type": "array", "items": ref("AlertRule")})),
            tag="alerts",
        ),
        "post": operation(
            "Create an alert rule",
            _json("The rule.", data(ref("AlertRule"))),
            status=201,
            errors=(400,),
            body=RULE_BODY,
            example=RULE_EXAMPLE,
            tag="alerts",
        ),
    },
    "/api/alerts/rules/{id}": {
        "get": operation(
            "One alert rule and its state",
            _json("The rule.", data(ref("AlertRule"))),
            errors=(404,),
            params=[ID],
            tag="alerts",
        ),
        "put": operation(
            "Replace an alert rule",
            _json("The rule.", data(ref("AlertRule"))),
            errors=(400, 404),
            params=[ID],
            body=RULE_BODY,
            example=RULE_EXAMPLE,
            tag="alerts",
        ),
        "delete": operation(
            "Delete an alert rule",
            {"description": "Deleted."},
            status=204,
            errors=(404,),
            params=[ID],
            tag="alerts",
        ),
    },
    "/api/alerts/channels": {
        "get": operation(
            "The org's alert channels (secrets masked)",
            _json("Channels.", data({"type": "array", "items": ref("AlertChannel")})),
            tag="alerts",
        ),
        "post": operation(
            "Create an alert channel",
            _json("The channel.", data(ref("AlertChannel"))),
            status=201,
            errors=(400,),
            body=obj(
                {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "type": {"enum": list(CHANNEL_KINDS)},
                },
                {
                    "url": {"type": "string", "description": "webhook and slack: http(s) URL"},
                    "secret": {**SECRET, "description": "webhook: the signing secret"},
                    "to": {"description": "email: 1 to 20 addresses"},
                },
                **CLOSED,
            ),
            example={
                "name": "on-call",
                "type": "webhook",
                "url": "https://hooks.example.com/relayscope",
                "secret": "a-long-random-signing-secret",
            },
            tag="alerts",
        ),
    },
    "/api/alerts/channels/{id}": {
        "get": operation(
            "One alert channel",
            _json("The channel.", data(ref("AlertChannel"))),
            errors=(404,),
            params=[ID],
            tag="alerts",
        ),
        "delete": operation(
            "Delete an alert channel",
            {"description": "Deleted."},
            status=204,
            errors=(404,),
            params=[ID],
            tag="alerts",
        ),
    },
    "/api/alerts/channels/{id}/test": {
        "post": operation(
            "Send a test notification through a channel (one attempt)",
            _json(
                "How the delivery went.",
                data({"allOf": [obj({"channel_id": STRING}), ref("Delivery")]}),
            ),
            errors=(404,),
            params=[ID],
            tag="alerts",
        )
    },
    "/api/alerts/history": {
        "get": operation(
            "Alert events, newest first",
            _json(
                "A page of events.",
                obj(
                    {
                        "data": {"type": "array", "items": ref("AlertEvent")},
                        "next_cursor": nullable(STRING),
                    }
                ),
            ),
            errors=(400,),
            params=[
                query("rule_id", STRING, "Only this rule's events."),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size."),
                query("cursor", STRING, "The next_cursor of the previous page."),
            ],
            tag="alerts",
        )
    },
    "/api/webhooks": {
        "get": operation(
            "The org's request webhooks (secrets masked)",
            _json("Webhooks.", data({"type": "array", "items": ref("Webhook")})),
            tag="webhooks",
        ),
        "post": operation(
            "Create a request webhook: every request of the org is posted to it",
            _json("The webhook.", data(ref("Webhook"))),
            status=201,
            errors=(400,),
            body=obj(
                {"url": STRING, "secret": SECRET},
                {
                    "include_bodies": {"type": "boolean"},
                    "properties": {
                        "type": "object",
                        "additionalProperties": STRING,
                        "maxProperties": 10,
                    },
                },
                **CLOSED,
            ),
            example={
                "url": "https://hooks.example.com/requests",
                "secret": "a-long-random-signing-secret",
                "properties": {"app": "support"},
            },
            tag="webhooks",
        ),
    },
    "/api/webhooks/{id}": {
        "delete": operation(
            "Delete a request webhook",
            {"description": "Deleted."},
            status=204,
            errors=(404,),
            params=[ID],
            tag="webhooks",
        )
    },
    "/api/rate-limits": {
        "get": operation(
            "The org's standing rate-limit policies",
            _json("Policies.", data({"type": "array", "items": ref("RateLimit")})),
            tag="rate-limits",
        ),
        "post": operation(
            "Create a policy, or change the quota of the one with the same key, window, unit "
            "and segment",
            _json("The policy (201 when created, 200 when changed).", data(ref("RateLimit"))),
            status=201,
            errors=(400,),
            body=obj(
                {
                    "policy": {
                        "type": "string",
                        "description": "<quota>;w=<seconds>[;u=<unit>]"
                        "[;s=<segment>], as Helicone-RateLimit-Policy",
                    }
                },
                {"key_id": nullable(STRING)},
                **CLOSED,
            ),
            example={"policy": "100;w=60;s=user"},
            tag="rate-limits",
        ),
    },
    "/api/rate-limits/{id}": {
        "delete": operation(
            "Delete a policy",
            _json("Deleted.", data(obj({"id": STRING, "deleted": {"const": True}}))),
            errors=(404,),
            params=[ID],
            tag="rate-limits",
        )
    },
}

OPERATOR_PATHS["/api/rate-limits"]["post"]["responses"]["200"] = _json(
    "The existing policy, with the new quota.", data(ref("RateLimit"))
)

PATHS: dict[str, dict[str, Schema]] = {
    OPENAPI_PATH: {
        "get": operation(
            "This description",
            _json("The OpenAPI document.", {"type": "object"}),
            tag="meta",
            public=True,
        )
    },
    "/api/requests": {
        "get": operation(
            "List request records, newest first",
            _json(
                "A page of records (bodies left out).",
                obj(
                    {
                        "data": {"type": "array", "items": ref("RequestSummary")},
                        "next_cursor": nullable(STRING),
                    }
                ),
            ),
            errors=(400,),
            params=[
                *_REQUEST_FILTERS,
                query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
                query("cursor", STRING, "The next_cursor of the previous page."),
            ],
            tag="requests",
            description="Also accepts `property.<name>=<value>` to filter on Helicone-Property-* "
            "values. Unknown parameters are a 400.",
        )
    },
    "/api/requests/{id}": {
        "get": operation(
            "One request record with its bodies",
            _json("The record.", data(ref("Request"))),
            errors=(404,),
            params=[path("id", STRING, "The Helicone-Id of the request.")],
            tag="requests",
        )
    },
    "/api/data/retention": {
        "get": operation(
            "The org's retention",
            _json("Days records are kept (null: the gateway default).", data(ref("Retention"))),
            tag="governance",
        ),
        "put": operation(
            "Set the org's retention",
            _json("The new retention.", data(ref("Retention"))),
            errors=(400,),
            body=ref("Retention"),
            example={"days": 30},
            tag="governance",
        ),
    },
    "/api/data/users/{user_id}": {
        "delete": operation(
            "Delete everything held about a user",
            _json(
                "How many items of each kind were deleted (requests, cache_entries, ...).",
                data(
                    obj(
                        {
                            "deleted": {
                                "type": "object",
                                "required": ["requests"],
                                "additionalProperties": INTEGER,
                            }
                        }
                    )
                ),
            ),
            params=[path("user_id", STRING, "The Helicone-User-Id.")],
            tag="governance",
        )
    },
    "/api/data/export": {
        "get": operation(
            "Export records as JSON Lines, oldest first",
            {
                "description": "One record (with bodies) per line.",
                "content": {"application/x-ndjson": {"schema": STRING}},
            },
            errors=(400,),
            params=[query("user_id", STRING, "Only this user's records.")],
            tag="governance",
        )
    },
    "/api/redaction-rules": {
        "get": operation(
            "The org's redaction rules",
            _json("Rules, oldest first.", data({"type": "array", "items": ref("RedactionRule")})),
            tag="governance",
        ),
        "post": operation(
            "Add a redaction rule",
            _json("The rule.", data(ref("RedactionRule"))),
            status=201,
            errors=(400,),
            body=obj(
                {
                    "kind": {"enum": ["detector", "pattern"]},
                    "value": {"type": "string", "minLength": 1, "maxLength": MAX_PATTERN_LENGTH},
                },
                {"replacement": STRING},
                description=f"A detector ({', '.join(DETECTORS)}) or a regular expression.",
            ),
            example={"kind": "pattern", "value": r"ORD-\d{6}", "replacement": "<order>"},
            tag="governance",
        ),
    },
    "/api/redaction-rules/{id}": {
        "delete": operation(
            "Delete a redaction rule",
            {"description": "Deleted."},
            status=204,
            errors=(404,),
            params=[path("id", STRING, "The rule id.")],
            tag="governance",
        )
    },
    "/api/provider-keys": {
        "get": operation(
            "The org's provider keys (never the keys themselves)",
            _json("Providers with a key.", data({"type": "array", "items": ref("ProviderKey")})),
            tag="provider-keys",
        )
    },
    "/api/provider-keys/{provider}": {
        "put": operation(
            "Set the org's key for a provider",
            _json("The stored key's provider and last four characters.", data(ref("ProviderKey"))),
            errors=(400, 404),
            params=[path("provider", {"enum": [p.name for p in PROVIDERS]}, "Provider name.")],
            body=obj(
                {"key": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": r"^\S+$"}},
                **CLOSED,
            ),
            example={"key": "sk-proj-your-openai-key"},
            tag="provider-keys",
        ),
        "delete": operation(
            "Delete the org's key for a provider",
            _json("Deleted.", obj({"deleted": STRING})),
            errors=(404,),
            params=[path("provider", STRING, "Provider name.")],
            tag="provider-keys",
        ),
    },
    "/api/cache/stats": {
        "get": operation(
            "What the response cache did for this org in this process",
            _json("Counters since the process started.", data(ref("CacheStats"))),
            tag="cache",
        )
    },
    "/api/prompts": {
        "get": operation(
            "The org's prompts",
            _json("Prompts.", data({"type": "array", "items": ref("PromptSummary")})),
            errors=(400,),
            tag="prompts",
        ),
        "post": operation(
            "Create a prompt with its first version",
            _json("The prompt and its version 1.", data(ref("Prompt"))),
            status=201,
            errors=(400, 409),
            body=obj({"id": PROMPT_ID, "messages": MESSAGES}, VERSION_FIELDS, **CLOSED),
            example={
                "id": "support-answer",
                "messages": [{"role": "user", "content": "Answer {{question}} politely."}],
                "model": "gpt-4o-mini",
                "labels": ["production"],
            },
            tag="prompts",
        ),
    },
    "/api/prompts/{id}": {
        "get": operation(
            "A prompt and one of its versions",
            _json("The prompt.", data(ref("Prompt"))),
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id."), query("version", SELECTOR, "Version.")],
            tag="prompts",
        )
    },
    "/api/prompts/{id}/versions": {
        "get": operation(
            "Every version of a prompt, newest first",
            _json("Versions.", data({"type": "array", "items": ref("PromptVersion")})),
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id.")],
            tag="prompts",
        ),
        "post": operation(
            "Add a version",
            _json("The prompt and the new version.", data(ref("Prompt"))),
            status=201,
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id.")],
            body=obj({"messages": MESSAGES}, VERSION_FIELDS, **CLOSED),
            example={
                "messages": [{"role": "user", "content": "Answer {{question}} briefly."}],
                "note": "shorter answers",
            },
            tag="prompts",
        ),
    },
    "/api/prompts/{id}/labels/{label}": {
        "put": operation(
            "Point a label at a version",
            _json(
                "The label.",
                data(obj({"prompt_id": STRING, "label": STRING, "version": INTEGER})),
            ),
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id."), path("label", LABEL, "Label name.")],
            body=obj({"version": {"type": "integer", "minimum": 1}}, **CLOSED),
            example={"version": 1},
            tag="prompts",
        )
    },
    "/api/prompts/{id}/render": {
        "post": operation(
            "Fill a version's template without calling a provider",
            _json(
                "The filled messages; `body` is the request the proxy would send for `format`.",
                data(
                    obj(
                        {
                            "prompt_id": STRING,
                            "version": INTEGER,
                            "messages": {"type": "array"},
                            "system": ANY,
                            "model": nullable(STRING),
                            "parameters": {"type": "object"},
                        },
                        {"body": {"type": "object"}},
                    )
                ),
            ),
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id.")],
            body=obj(
                {},
                {
                    "version": SELECTOR,
                    "variables": {"type": "object"},
                    "format": {"enum": ["openai", "anthropic"]},
                },
                **CLOSED,
            ),
            example={"variables": {"question": "Where is my order?"}, "format": "openai"},
            tag="prompts",
        )
    },
    **OPERATOR_PATHS,
}


def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "RelayScope API",
            "version": "1",
            "description": "Logs, governance, provider keys, cache and prompts of a RelayScope "
            "gateway. Every call but this description needs a gateway key and sees only "
            "that key's org. Errors are OpenAI-style: "
            '`{"error": {"message", "type", "code", "param"}}`.',
        },
        "servers": [{"url": "/"}],
        "security": [{"gatewayKey": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "gatewayKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A gateway key (`relayscope keys create`).",
                }
            },
        },
    }


_BODY = orjson.dumps(document())


async def serve(_request: Request) -> Response:
    return Response(_BODY, media_type="application/json")


routes = [Route(OPENAPI_PATH, serve, methods=["GET"])]
