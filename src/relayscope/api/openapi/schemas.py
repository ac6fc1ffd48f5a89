"""Component schemas and shared field schemas."""

from __future__ import annotations

from relayscope.alerts.channels import KINDS as CHANNEL_KINDS
from relayscope.alerts.rules import COMPARISONS as ALERT_COMPARISONS
from relayscope.alerts.rules import METRICS as ALERT_METRICS
from relayscope.alerts.rules import MODES as ALERT_MODES
from relayscope.api.openapi.build import (
    ANY,
    ERROR,
    INTEGER,
    NULLABLE_TIME,
    NUMBER,
    STRING,
    TIMESTAMP,
    Schema,
    nullable,
    obj,
    query,
    record_schema,
    ref,
)
from relayscope.governance.service import MAX_RETENTION_DAYS

STATUS_PATTERN = "^[1-5][0-9]{2}$"
PROPERTY_FILTER = (
    "Also accepts `property.<name>=<value>` (repeatable) to filter on Helicone-Property-* "
    "values; property names ignore case. `property_is.<name>` and "
    "`property_contains.<name>` match the value in any letter case. "
    "`score.<name>=[op:]value` (repeatable) keeps "
    "requests whose score compares so: op is eq (the default), ne, gt, gte, lt or lte, "
    "value a number, true or false (`score.accuracy=gte:0.8`, `score.helpful=true`). "
    "Unknown parameters are a 400."
)
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
    "Request": {
        "allOf": [record_schema(bodies=True), {"$ref": "#/components/schemas/Scores"}],
    },
    "Scores": obj(
        {
            "scores": {
                "type": "object",
                "additionalProperties": {"anyOf": [NUMBER, {"type": "boolean"}]},
                "description": "The request's scores by name (feedback is not among them).",
            },
            "feedback": nullable(
                obj(
                    {"rating": {"type": "boolean"}, "updated_at": TIMESTAMP},
                )
            ),
        }
    ),
    "DeadLetter": obj(
        {
            "quarantined_at": TIMESTAMP,
            "source": {"enum": ["store", "spool"]},
            "reason": STRING,
            "org_id": STRING,
        },
        {
            "record": {
                "type": "object",
                "description": "The record as it was refused (fields may not fit their type).",
            },
            "line": {**STRING, "description": "A spool line that was not a record."},
        },
    ),
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
                "score": nullable(STRING),
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


REQUEST_FILTERS = [
    query("user_id", STRING, "Helicone-User-Id the request carried."),
    query("session_id", STRING, "Helicone-Session-Id."),
    query("model", STRING, "Requested model."),
    query("provider", STRING, "Provider name, e.g. openai."),
    query(
        "status",
        {
            "anyOf": [
                {"enum": ["success", "error", "rate_limited", "cached"]},
                {"type": "string", "pattern": STATUS_PATTERN},
            ]
        },
        "An HTTP status, or success, error (>= 400 or a gateway error), rate_limited, cached.",
    ),
    query("request_name", STRING, "Helicone-Request-Name."),
    query("prompt_id", STRING, "Helicone-Prompt-Id the body was filled from."),
    query("prompt_version", {"type": "integer", "minimum": 1, "maximum": 10**9}, "Prompt version."),
    query("search", STRING, "Words that must all appear in the request or response body."),
    query("feedback", {"enum": ["true", "false"]}, "Requests rated positive (true) or negative."),
    query("from", TIMESTAMP, "Records created at or after (ISO 8601)."),
    query("to", TIMESTAMP, "Records created before (ISO 8601)."),
    query(
        "range",
        {"enum": ["1h", "24h", "7d", "30d", "90d"]},
        "The records of the last hour, 24 hours, 7, 30 or 90 days; not with from or to.",
    ),
    *(
        query(f"{field}.{op}", STRING, f"{field} {verb} this, in any letter case.")
        for field in ("user_id", "model", "request_name", "prompt_id")
        for op, verb in (("is", "equal to"), ("contains", "containing"))
    ),
]
SPAN = [
    query("from", TIMESTAMP, "Start of the range (ISO 8601)."),
    query("to", TIMESTAMP, "End of the range, excluded."),
]
