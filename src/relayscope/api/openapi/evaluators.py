"""Operations of evaluators: an org's checks on its requests, and runs on demand."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    CLOSED,
    INTEGER,
    NULLABLE_TIME,
    STRING,
    TIMESTAMP,
    Schema,
    answer,
    data,
    nullable,
    obj,
    operation,
    path,
    query,
)
from relayscope.api.openapi.schemas import PROPERTY_FILTER, REQUEST_FILTERS
from relayscope.evaluators.api import DEFAULT_RUN_LIMIT
from relayscope.evaluators.model import KINDS
from relayscope.evaluators.runner import MAX_REQUESTS_PER_RUN
from relayscope.store.scores import MAX_NAME_LENGTH

SCORE: Schema = {"anyOf": [{"type": "number"}, {"type": "boolean"}, {"type": "null"}]}
CONFIG: Schema = {
    "type": "object",
    "description": "The kind's settings (docs/evaluators.md): regex `pattern`, `expect` "
    "(match, no_match), `field` (output, input), `ignore_case`; contains `text`, "
    "`expect`, `field`, `case_sensitive`; json_schema `schema`; length `min`, `max`, "
    "`field`; latency `min_ms`, `max_ms`; cost `min_usd`, `max_usd`; llm_judge `model`, "
    "`provider`, `prompt` (with {{output}} and maybe {{input}}), `system`, `scale` "
    "(boolean, number), `min`, `max`, `max_tokens`.",
}
SAMPLE_RATE: Schema = {
    "type": "number",
    "minimum": 0,
    "maximum": 1,
    "description": "Share of live traffic evaluated; 0 (the default): on demand only.",
}
EVALUATOR: Schema = obj(
    {
        "id": STRING,
        "name": {**STRING, "description": "Also the name of the score it writes."},
        "kind": {"type": "string", "enum": list(KINDS)},
        "config": CONFIG,
        "sample_rate": SAMPLE_RATE,
        "description": STRING,
        "created_at": TIMESTAMP,
        "scored": {**INTEGER, "description": "Evaluations that wrote a score."},
        "failed": {**INTEGER, "description": "Evaluations that reached no verdict."},
        "last_error": nullable(STRING),
        "last_error_at": NULLABLE_TIME,
    }
)
CREATE_BODY: Schema = obj(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH},
        "kind": {"type": "string", "enum": list(KINDS)},
        "config": CONFIG,
    },
    {"sample_rate": SAMPLE_RATE, "description": {"type": "string", "maxLength": 500}},
    **CLOSED,
)
UPDATE_BODY: Schema = obj(
    {},
    {"config": CONFIG, "sample_rate": SAMPLE_RATE, "description": STRING},
    **CLOSED,
)
RUN_BODY: Schema = obj(
    {
        "request_ids": {
            "type": "array",
            "items": STRING,
            "minItems": 1,
            "maxItems": MAX_REQUESTS_PER_RUN,
        }
    },
    **CLOSED,
)
SUMMARY: Schema = obj(
    {
        "evaluator_id": STRING,
        "evaluator": STRING,
        "scored": INTEGER,
        "failed": INTEGER,
        "results": {
            "type": "array",
            "items": obj({"request_id": STRING, "score": SCORE, "error": nullable(STRING)}),
        },
    }
)
CREATE_EXAMPLE = {
    "name": "no-apology",
    "kind": "regex",
    "config": {"pattern": "\\bsorry\\b", "expect": "no_match", "ignore_case": True},
    "sample_rate": 0.1,
}
ID = path("id", STRING, "The evaluator's id.")
ONE = answer("The evaluator.", data(EVALUATOR))

EVALUATOR_PATHS: dict[str, dict[str, Schema]] = {
    "/api/evaluators": {
        "get": operation(
            "The org's evaluators",
            answer("Evaluators, by name.", data({"type": "array", "items": EVALUATOR})),
            admin=True,
            tag="evaluators",
        ),
        "post": operation(
            "Create an evaluator",
            answer("The evaluator.", data(EVALUATOR)),
            status=201,
            errors=(400, 409),
            body=CREATE_BODY,
            example=CREATE_EXAMPLE,
            admin=True,
            tag="evaluators",
            description="Every setting is checked now: a regex that does not compile, a "
            "schema that is not one or a judge prompt without {{output}} is a 400 naming "
            "`config.<field>`.",
        ),
    },
    "/api/evaluators/{id}": {
        "get": operation(
            "One evaluator", ONE, errors=(404,), params=[ID], admin=True, tag="evaluators"
        ),
        "patch": operation(
            "Change an evaluator's config, sample rate or description",
            ONE,
            errors=(400, 404),
            params=[ID],
            body=UPDATE_BODY,
            example={"sample_rate": 0.5},
            admin=True,
            tag="evaluators",
        ),
        "delete": operation(
            "Delete an evaluator (its scores stay on the requests)",
            {"description": "Deleted."},
            status=204,
            errors=(404,),
            params=[ID],
            admin=True,
            tag="evaluators",
        ),
    },
    "/api/evaluators/{id}/run": {
        "post": operation(
            "Run an evaluator now",
            answer("What each request got.", data(SUMMARY)),
            errors=(400, 404),
            params=[
                ID,
                *REQUEST_FILTERS,
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_REQUESTS_PER_RUN},
                    f"The newest this many matching requests (default {DEFAULT_RUN_LIMIT}).",
                ),
            ],
            body=RUN_BODY,
            example={"request_ids": ["00000000-0000-4000-8000-000000000000"]},
            admin=True,
            tag="evaluators",
            description="Evaluates the requests the explorer's filter (the query "
            "parameters of GET /api/requests) matches, newest first, or, with a body, the "
            "requests named. Verdicts are stored as the score named after the evaluator. "
            + PROPERTY_FILTER,
        ),
    },
}
