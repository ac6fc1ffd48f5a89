"""Operations of scores and feedback: Helicone's paths and RelayScope's."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    CLOSED,
    Schema,
    answer,
    data,
    obj,
    operation,
    path,
    ref,
)
from relayscope.store.scores import MAX_NAME_LENGTH, MAX_SCORES_PER_REQUEST

SCORE_VALUE: Schema = {"anyOf": [{"type": "number"}, {"type": "boolean"}]}
SCORE_BODY: Schema = obj(
    {
        "scores": {
            "type": "object",
            "minProperties": 1,
            "maxProperties": MAX_SCORES_PER_REQUEST,
            "propertyNames": {"minLength": 1, "maxLength": MAX_NAME_LENGTH},
            "additionalProperties": SCORE_VALUE,
            "description": "Score names and their values: finite numbers or booleans. "
            "A name posted again is updated; names starting with `helicone-` are the "
            "gateway's own.",
        }
    },
    **CLOSED,
)
FEEDBACK_BODY: Schema = obj({"rating": {"type": "boolean"}}, **CLOSED)
HELICONE_ANSWER: Schema = obj({"data": {"type": "null"}, "error": {"type": "null"}})
ID = path("id", {"type": "string"}, "The Helicone-Id of the request.")
WAIT = (
    "Any key of the org may post it (a proxy key too). A record not stored yet (the log "
    "writer batches) is waited for, about 1.5 s at most with the default flush "
    "interval; an id the org does not have is then a 404."
)


def _op(summary: str, ok: Schema, body: Schema, example: object, tag: str) -> Schema:
    return operation(
        summary,
        ok,
        errors=(400, 404),
        params=[ID],
        body=body,
        example=example,
        tag=tag,
        description=WAIT,
    )


SCORES_EXAMPLE = {"scores": {"accuracy": 0.92, "helpful": True}}
FEEDBACK_EXAMPLE = {"rating": True}
OURS = answer("The request's scores and feedback after the change.", data(ref("Scores")))
HELICONE = answer("Stored (Helicone's answer).", HELICONE_ANSWER)

SCORE_PATHS: dict[str, dict[str, Schema]] = {
    "/api/requests/{id}/score": {
        "post": _op("Score a request", OURS, SCORE_BODY, SCORES_EXAMPLE, "scores")
    },
    "/api/requests/{id}/feedback": {
        "post": _op("Rate a request", OURS, FEEDBACK_BODY, FEEDBACK_EXAMPLE, "scores")
    },
    "/v1/request/{id}/score": {
        "post": _op("Score a request (Helicone)", HELICONE, SCORE_BODY, SCORES_EXAMPLE, "helicone")
    },
    "/v1/request/{id}/feedback": {
        "post": _op(
            "Rate a request (Helicone)", HELICONE, FEEDBACK_BODY, FEEDBACK_EXAMPLE, "helicone"
        )
    },
}
