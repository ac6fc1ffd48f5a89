"""Operations of datasets and experiments."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    ANY,
    CLOSED,
    INTEGER,
    NUMBER,
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
from relayscope.datasets.build import MAX_FROM_LOG
from relayscope.experiments.variants import MAX_VARIANTS, PARAMETERS, PROVIDERS

ID = path("id", STRING, "The dataset's id.")
ROW_ID = path("row_id", STRING, "The row's id.")
EXPERIMENT_ID = path("id", STRING, "The experiment's id.")
TEXT = nullable(STRING)
MESSAGES: Schema = {
    "type": "array",
    "minItems": 1,
    "items": obj({"role": {"type": "string", "minLength": 1}}, {"content": ANY}),
    "description": "Chat messages, as a chat completion request sends them.",
}
DATASET: Schema = obj(
    {
        "id": STRING,
        "name": STRING,
        "description": TEXT,
        "row_count": INTEGER,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    }
)
ROW: Schema = obj(
    {
        "id": STRING,
        "dataset_id": STRING,
        "position": INTEGER,
        "messages": MESSAGES,
        "output": TEXT,
        "expected": TEXT,
        "request_id": TEXT,
        "model": TEXT,
        "updated_at": TIMESTAMP,
    }
)
NEW_ROW: Schema = obj(
    {"messages": MESSAGES},
    {"output": TEXT, "expected": TEXT, "request_id": TEXT, "model": TEXT},
    **CLOSED,
)
REQUEST_IDS: Schema = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 64},
    "minItems": 1,
    "maxItems": MAX_FROM_LOG,
}
NEW_DATASET: Schema = obj(
    {"name": {"type": "string", "minLength": 1, "maxLength": 200}},
    {
        "description": TEXT,
        "filter": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
            "description": "/api/requests' filter parameters (model, property.<name>, "
            "score.<name>, from, to, ...): its newest `limit` matching chat requests.",
        },
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_FROM_LOG},
        "request_ids": {**REQUEST_IDS, "description": "Requests to take, in this order."},
    },
    **CLOSED,
)
VARIANT: Schema = obj(
    {"name": {"type": "string", "minLength": 1, "maxLength": 64}},
    {
        "model": STRING,
        "provider": {"enum": list(PROVIDERS)},
        "prompt_id": STRING,
        "prompt_version": {"type": "integer", "minimum": 1},
        "variables": {"type": "object", "additionalProperties": STRING},
        "parameters": {
            "type": "object",
            "properties": {name: NUMBER for name in PARAMETERS},
            "additionalProperties": False,
        },
    },
    **CLOSED,
)
EXPERIMENT: Schema = obj(
    {
        "id": STRING,
        "dataset_id": STRING,
        "name": STRING,
        "variants": {"type": "array", "items": VARIANT},
        "concurrency": INTEGER,
        "estimate": {
            "type": "object",
            "description": "Requests, input tokens (and how they were counted), the "
            "assumed output tokens per request, cost per variant and in total (USD).",
        },
        "status": {"enum": ["draft", "running", "completed", "cancelled", "interrupted"]},
        "progress": obj(
            {"total": INTEGER, "done": INTEGER, "succeeded": INTEGER, "failed": INTEGER}
        ),
        "created_at": TIMESTAMP,
        "started_at": nullable(TIMESTAMP),
        "finished_at": nullable(TIMESTAMP),
    }
)
NEW_EXPERIMENT: Schema = obj(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "dataset_id": STRING,
        "variants": {
            "type": "array",
            "items": VARIANT,
            "minItems": 1,
            "maxItems": MAX_VARIANTS,
        },
    },
    {
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 16, "default": 2},
        "assumed_output_tokens": {"type": "integer", "minimum": 1, "default": 256},
    },
    **CLOSED,
)
COMPARISON: Schema = obj(
    {
        "experiment": EXPERIMENT,
        "rows": {"type": "array", "items": {"type": "object"}},
        "summary": {"type": "array", "items": {"type": "object"}},
        "best": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": STRING},
            "description": "Per metric (cost, latency, score.<name>) the best variants.",
        },
    }
)
DELETED: Schema = data(obj({"id": STRING, "deleted": {"type": "boolean"}}))
EXAMPLE_ROW = {"messages": [{"role": "user", "content": "What is 2+2?"}], "expected": "4"}


JSONL = "application/jsonl"
JSONL_ROWS: Schema = {
    "type": "string",
    "description": "One row per line: " + '{"messages", "output", "expected", ...}.',
}
JSONL_EXAMPLE = '{"messages": [{"role": "user", "content": "What is 2+2?"}], "expected": "4"}\n'


DATASET_PATHS: dict[str, dict[str, Schema]] = {
    "/api/datasets": {
        "get": operation(
            "List datasets",
            answer("Datasets", data({"type": "array", "items": DATASET})),
            tag="datasets",
        ),
        "post": operation(
            "Create a dataset (empty, from an explorer filter or from request ids)",
            answer("Created", data(DATASET)),
            status=201,
            errors=(404,),
            body=NEW_DATASET,
            example={"name": "math questions", "filter": {"model": "gpt-4o-mini"}, "limit": 50},
            tag="datasets",
            admin=True,
        ),
    },
    "/api/datasets/{id}": {
        "get": operation(
            "Get a dataset",
            answer("The dataset", data(DATASET)),
            errors=(404,),
            params=[ID],
            tag="datasets",
        ),
        "patch": operation(
            "Rename a dataset",
            answer("The dataset", data(DATASET)),
            errors=(404,),
            params=[ID],
            body=obj({}, {"name": STRING, "description": TEXT}, **CLOSED),
            example={"name": "renamed"},
            tag="datasets",
            admin=True,
        ),
        "delete": operation(
            "Delete a dataset",
            answer("Deleted", DELETED),
            errors=(404,),
            params=[ID],
            tag="datasets",
            admin=True,
        ),
    },
    "/api/datasets/{id}/rows": {
        "get": operation(
            "List a dataset's rows",
            answer(
                "Rows in order", obj({"data": {"type": "array", "items": ROW}, "total": INTEGER})
            ),
            errors=(404,),
            params=[
                ID,
                query("offset", {"type": "integer", "minimum": 0}, "Rows to skip."),
                query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": 1000},
                    "Rows to return (100).",
                ),
            ],
            tag="datasets",
        ),
        "post": operation(
            "Add a row, or rows from request ids",
            answer(
                "The new rows",
                obj(
                    {
                        "data": {"type": "array", "items": ROW},
                        "skipped": {"type": "array", "items": STRING},
                    }
                ),
            ),
            status=201,
            errors=(404,),
            params=[ID],
            body={"anyOf": [NEW_ROW, obj({"request_ids": REQUEST_IDS}, **CLOSED)]},
            example=EXAMPLE_ROW,
            tag="datasets",
            admin=True,
        ),
    },
    "/api/datasets/{id}/rows/{row_id}": {
        "patch": operation(
            "Edit a row (its expected output, messages or output)",
            answer("The row", data(ROW)),
            errors=(404,),
            params=[ID, ROW_ID],
            body=obj({}, {"messages": MESSAGES, "output": TEXT, "expected": TEXT}, **CLOSED),
            example={"expected": "4"},
            tag="datasets",
            admin=True,
        ),
        "delete": operation(
            "Delete a row",
            answer("Deleted", DELETED),
            errors=(404,),
            params=[ID, ROW_ID],
            tag="datasets",
            admin=True,
        ),
    },
    "/api/datasets/{id}/export": {
        "get": operation(
            "Export a dataset as JSON Lines",
            answer("One row per line", STRING, media=JSONL),
            errors=(404,),
            params=[ID],
            tag="datasets",
        ),
    },
    "/api/datasets/{id}/import": {
        "post": operation(
            "Import JSON Lines as rows (all or none; a bad line is a 400 naming it)",
            answer("Imported", data(obj({"imported": INTEGER, "row_count": INTEGER}))),
            errors=(404,),
            params=[ID],
            body=JSONL_ROWS,
            body_media=JSONL,
            example=JSONL_EXAMPLE,
            tag="datasets",
            admin=True,
        )
    },
}

EXPERIMENT_PATHS: dict[str, dict[str, Schema]] = {
    "/api/experiments": {
        "get": operation(
            "List experiments",
            answer("Experiments", data({"type": "array", "items": EXPERIMENT})),
            tag="experiments",
        ),
        "post": operation(
            "Create an experiment: a draft with its cost estimate",
            answer("The draft, with its estimate", data(EXPERIMENT)),
            status=201,
            errors=(404,),
            body=NEW_EXPERIMENT,
            example={
                "name": "mini vs 4o",
                "dataset_id": "3f0c2a7e-0000-4000-8000-000000000000",
                "variants": [
                    {"name": "mini", "model": "gpt-4o-mini"},
                    {"name": "4o", "model": "gpt-4o", "parameters": {"temperature": 0.2}},
                ],
            },
            tag="experiments",
            admin=True,
        ),
    },
    "/api/experiments/{id}": {
        "get": operation(
            "Get an experiment (status, progress)",
            answer("The experiment", data(EXPERIMENT)),
            errors=(404,),
            params=[EXPERIMENT_ID],
            tag="experiments",
        ),
    },
    "/api/experiments/{id}/start": {
        "post": operation(
            "Confirm the estimate and run the experiment",
            answer("Running", data(EXPERIMENT)),
            status=202,
            errors=(404, 409),
            params=[EXPERIMENT_ID],
            tag="experiments",
            admin=True,
        ),
    },
    "/api/experiments/{id}/cancel": {
        "post": operation(
            "Cancel a running experiment",
            answer("Cancelled", data(EXPERIMENT)),
            errors=(404, 409),
            params=[EXPERIMENT_ID],
            tag="experiments",
            admin=True,
        ),
    },
    "/api/experiments/{id}/comparison": {
        "get": operation(
            "Compare an experiment's variants side by side",
            answer("Rows, summary and the best variant per metric", data(COMPARISON)),
            errors=(404,),
            params=[EXPERIMENT_ID],
            tag="experiments",
        ),
    },
}
