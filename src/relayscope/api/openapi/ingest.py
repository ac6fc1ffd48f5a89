"""Operations of logging without the proxy (``ingest.api``): Helicone's custom logs and
OTLP/HTTP traces. ``/v1/traces`` speaks OTLP's encodings, not the API's: protobuf or
JSON in, the same out, and its errors are a ``google.rpc.Status`` (``ingest.otlp_errors``)."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    INTEGER,
    STRING,
    Schema,
    answer,
    obj,
    operation,
    ref,
)
from relayscope.ingest import custom, otlp
from relayscope.ingest.api import MAX_SPAN_RECORDS

_STRINGS: Schema = {
    "type": "object",
    "additionalProperties": STRING,
    "maxProperties": custom.MAX_META,
}
_INSTANT: Schema = obj(
    {"seconds": {"type": "number", "minimum": 0, "maximum": custom.MAX_SECONDS}},
    {"milliseconds": {"type": "number", "minimum": 0, "maximum": 999.999}},
)
CUSTOM_LOG_BODY: Schema = obj(
    {
        "providerRequest": obj(
            {
                "url": {"type": "string", "minLength": 1, "maxLength": custom.MAX_URL},
                "json": {"type": "object", "description": "The request sent to the model."},
            },
            {
                "meta": {
                    **_STRINGS,
                    "description": "The call's Helicone-* headers (user, session, "
                    "properties, request id); others are ignored.",
                }
            },
        ),
        "providerResponse": obj(
            {"status": {"type": "integer", "minimum": 100, "maximum": 599}},
            {
                "json": {"type": "object", "description": "The response, as JSON."},
                "textBody": {
                    "type": "string",
                    "description": "The response as text (a stream's events), when "
                    "there is no `json`.",
                },
                "headers": _STRINGS,
            },
        ),
    },
    {
        "timing": obj(
            {"startTime": _INSTANT, "endTime": _INSTANT},
            {"timeToFirstToken": {"type": "number", "minimum": 0}},
            description="Left out: the call is timed at its arrival, with no latency.",
        )
    },
)
CUSTOM_LOG_EXAMPLE = {
    "providerRequest": {
        "url": "custom-model-nopath",
        "json": {"model": "my-model", "messages": [{"role": "user", "content": "Hi"}]},
        "meta": {"Helicone-User-Id": "ada"},
    },
    "providerResponse": {
        "json": {
            "choices": [{"message": {"role": "assistant", "content": "Hello"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        },
        "status": 200,
    },
    "timing": {
        "startTime": {"seconds": 1767000000, "milliseconds": 0},
        "endTime": {"seconds": 1767000001, "milliseconds": 250},
    },
}
_LOGGED = answer(
    "Logged (Helicone's answer); the record is written a moment later. The id is also "
    "in the `Helicone-Id` header.",
    obj({"data": obj({"id": STRING}), "error": {"type": "null"}}),
)
_LOGGED["headers"] = {"Helicone-Id": {"schema": STRING, "description": "The record's id."}}
KEY = (
    "Any gateway key of the org, in `Authorization: Bearer` (what Helicone's loggers and "
    "OTLP exporters send) or `Helicone-Auth`."
)


def _custom_log(summary: str) -> Schema:
    return operation(
        summary,
        _LOGGED,
        errors=(400, 413),
        body=CUSTOM_LOG_BODY,
        example=CUSTOM_LOG_EXAMPLE,
        tag="ingest",
        description=f"Helicone's custom-logging body. {KEY}",
    )


PROTOBUF = "application/x-protobuf"
_ANY_VALUE: Schema = {
    "type": "object",
    "description": "One of stringValue, intValue (a string), doubleValue, boolValue, "
    "arrayValue, kvlistValue, bytesValue.",
}
_ATTRIBUTES: Schema = {
    "type": "array",
    "items": obj({"key": STRING}, {"value": _ANY_VALUE}),
}
_SPAN: Schema = obj(
    {},
    {
        "traceId": {"type": "string", "description": "32 hex digits."},
        "spanId": {"type": "string", "description": "16 hex digits."},
        "parentSpanId": STRING,
        "name": STRING,
        "kind": INTEGER,
        "startTimeUnixNano": {"type": "string", "description": "A 64-bit integer as text."},
        "endTimeUnixNano": STRING,
        "attributes": _ATTRIBUTES,
        "status": obj({}, {"code": INTEGER, "message": STRING}),
    },
)
TRACES_JSON: Schema = obj(
    {},
    {
        "resourceSpans": {
            "type": "array",
            "items": obj(
                {},
                {
                    "resource": obj({}, {"attributes": _ATTRIBUTES}),
                    "scopeSpans": {
                        "type": "array",
                        "items": obj(
                            {},
                            {
                                "scope": obj({}, {"name": STRING, "version": STRING}),
                                "spans": {"type": "array", "items": _SPAN},
                            },
                        ),
                    },
                },
            ),
        }
    },
    description="An ExportTraceServiceRequest in OTLP/JSON: ids in hex, 64-bit integers "
    "as strings.",
)
TRACES_EXAMPLE = {
    "resourceSpans": [
        {
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "nightly-job"}}]
            },
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "5b8efff798038103d269b633813fc60c",
                            "spanId": "eee19b7ec3c1b173",
                            "name": "chat gpt-4o-mini",
                            "startTimeUnixNano": "1767000000500000000",
                            "endTimeUnixNano": "1767000002000000000",
                            "attributes": [
                                {
                                    "key": "gen_ai.request.model",
                                    "value": {"stringValue": "gpt-4o-mini"},
                                },
                                {
                                    "key": "gen_ai.usage.input_tokens",
                                    "value": {"intValue": "1200"},
                                },
                            ],
                        }
                    ]
                }
            ],
        }
    ]
}
_BINARY: Schema = {"type": "string", "contentMediaType": PROTOBUF}
RPC_STATUS: Schema = obj(
    {"code": INTEGER, "message": STRING},
    {"details": {"type": "array", "items": {"type": "object"}}},
    description="google.rpc.Status in protobuf's JSON mapping: a gRPC code and a message.",
)
_TRACE_ERRORS = {
    400: "A payload that is not an export (`INVALID_ARGUMENT`).",
    401: "Missing or unknown gateway key (`UNAUTHENTICATED`).",
    413: "Past the body limit, compressed or once decompressed (`RESOURCE_EXHAUSTED`).",
    415: "Another Content-Type or Content-Encoding (`INVALID_ARGUMENT`).",
    503: "The store is unavailable (`UNAVAILABLE`, with Retry-After): retry.",
}


def _status_answer(description: str) -> Schema:
    return {
        "description": description + " The body is a google.rpc.Status, protobuf-encoded "
        "or in JSON as the export was sent.",
        "content": {
            PROTOBUF: {"schema": {**_BINARY, "description": "A google.rpc.Status."}},
            "application/json": {"schema": ref("RpcStatus")},
        },
    }


TRACES: Schema = {
    "summary": "Log OpenTelemetry GenAI spans (OTLP/HTTP)",
    "tags": ["ingest"],
    "description": "Each span naming a model (the GenAI conventions, OpenLLMetry, "
    "OpenInference) becomes a record; a trace is a session. gzip or deflate "
    f"Content-Encoding is read. {KEY} One export logs at most {MAX_SPAN_RECORDS} LLM "
    "spans; the rest are reported in `partialSuccess`.",
    "requestBody": {
        "required": True,
        "content": {
            PROTOBUF: {"schema": {**_BINARY, "description": "An ExportTraceServiceRequest."}},
            "application/json": {"schema": TRACES_JSON, "example": TRACES_EXAMPLE},
        },
    },
    "responses": {
        "200": {
            "description": "Accepted: an ExportTraceServiceResponse in the export's encoding.",
            "content": {
                PROTOBUF: {"schema": _BINARY},
                "application/json": {
                    "schema": obj(
                        {},
                        {
                            "partialSuccess": obj(
                                {},
                                {"rejectedSpans": STRING, "errorMessage": STRING},
                            )
                        },
                    )
                },
            },
        },
        **{str(code): _status_answer(text) for code, text in _TRACE_ERRORS.items()},
    },
}

INGEST_PATHS: dict[str, dict[str, Schema]] = {
    "/custom/v1/log": {"post": _custom_log("Log a call made without the proxy")},
    "/oai/v1/log": {"post": _custom_log("Log a call to OpenAI made without the proxy")},
    "/anthropic/v1/log": {"post": _custom_log("Log a call to Anthropic made without the proxy")},
    otlp.PATH: {"post": TRACES},
}
INGEST_SCHEMAS: dict[str, Schema] = {"RpcStatus": RPC_STATUS}
