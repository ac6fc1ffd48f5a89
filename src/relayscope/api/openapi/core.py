"""Operations of the core API: requests, governance, provider keys, cache, prompts."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    ANY,
    CLOSED,
    INTEGER,
    OPENAPI_PATH,
    STRING,
    Schema,
    answer,
    data,
    nullable,
    obj,
    operation,
    path,
    query,
    ref,
)
from relayscope.api.openapi.schemas import (
    LABEL,
    MESSAGES,
    PROMPT_ID,
    PROPERTY_FILTER,
    REQUEST_FILTERS,
    SELECTOR,
    VERSION_FIELDS,
)
from relayscope.governance.redaction import DETECTORS, MAX_PATTERN_LENGTH
from relayscope.providers.registry import PROVIDERS
from relayscope.store.order import SORT_COLUMNS

SORT_PARAMS = [
    query(
        "sort",
        {"type": "string", "enum": list(SORT_COLUMNS)},
        "Order by time (the default), latency, cost or total tokens; a missing cost or "
        "token count sorts below every value.",
    ),
    query("order", {"type": "string", "enum": ["desc", "asc"]}, "Default desc."),
]

CORE_PATHS: dict[str, dict[str, Schema]] = {
    OPENAPI_PATH: {
        "get": operation(
            "This description",
            answer("The OpenAPI document.", {"type": "object"}),
            tag="meta",
            public=True,
        )
    },
    "/api/requests": {
        "get": operation(
            "List request records, newest first",
            answer(
                "A page of records (bodies left out).",
                obj(
                    {
                        "data": {"type": "array", "items": ref("RequestSummary")},
                        "next_cursor": nullable(STRING),
                        "prev_cursor": nullable(STRING),
                    }
                ),
            ),
            errors=(400,),
            params=[
                *REQUEST_FILTERS,
                query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
                *SORT_PARAMS,
                query("cursor", STRING, "The next_cursor of a page: the page after it."),
                query("after", STRING, "The prev_cursor of a page: the page before it."),
            ],
            tag="requests",
            description=PROPERTY_FILTER,
        )
    },
    "/api/requests/export": {
        "get": operation(
            "Export the filtered request records as CSV or JSON Lines, newest first",
            {
                "description": "Every matching record, bodies left out, as a download.",
                "content": {
                    "text/csv": {"schema": STRING},
                    "application/x-ndjson": {"schema": STRING},
                },
            },
            errors=(400,),
            params=[
                *REQUEST_FILTERS,
                *SORT_PARAMS,
                query("format", {"type": "string", "enum": ["csv", "jsonl"]}, "Default csv."),
            ],
            tag="requests",
            description=PROPERTY_FILTER,
        )
    },
    "/api/requests/suggestions": {
        "get": operation(
            "Known values of a filter field, most used first, for autocomplete",
            answer(
                "Values seen in the last 30 days (prompts: every prompt id).",
                obj(
                    {
                        "data": {
                            "type": "array",
                            "items": obj({"value": STRING, "requests": nullable(INTEGER)}),
                        }
                    }
                ),
            ),
            errors=(400,),
            params=[
                query(
                    "field",
                    {"enum": ["user", "model", "property", "property_value", "prompt"]},
                    "What to suggest: user ids, models, property names, one property's "
                    "values, or prompt ids. Default user.",
                ),
                query("name", STRING, "The property, with field=property_value."),
                query("q", STRING, "Only values containing this text, in any case."),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Default 20."),
            ],
            tag="requests",
        )
    },
    "/api/requests/{id}": {
        "get": operation(
            "One request record with its bodies",
            answer("The record.", data(ref("Request"))),
            errors=(404,),
            params=[path("id", STRING, "The Helicone-Id of the request.")],
            tag="requests",
        )
    },
    "/api/dead-letters": {
        "get": operation(
            "Log records the store refused, newest first",
            answer(
                "The org's dead letters: records kept aside, with the store's reason.",
                data({"type": "array", "items": ref("DeadLetter")}),
            ),
            errors=(400,),
            params=[query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "At most.")],
            tag="requests",
            description=(
                "A record whose values the store cannot hold (as a provider misreported them) "
                "is kept here instead of stopping the log writer. Kept in the data directory, "
                "never dropped; `relayscope logs dead-letters` lists them all."
            ),
        )
    },
    "/api/data/retention": {
        "get": operation(
            "The org's retention",
            answer("Days records are kept (null: the gateway default).", data(ref("Retention"))),
            admin=True,
            tag="governance",
        ),
        "put": operation(
            "Set the org's retention",
            answer("The new retention.", data(ref("Retention"))),
            errors=(400,),
            body=ref("Retention"),
            example={"days": 30},
            admin=True,
            tag="governance",
        ),
    },
    "/api/data/users/{user_id}": {
        "delete": operation(
            "Delete everything held about a user",
            answer(
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
            admin=True,
            tag="governance",
        )
    },
    "/api/data/export": {
        "get": operation(
            "Export records with their scores, as JSON Lines or CSV, oldest first",
            {
                "description": (
                    "One record (with bodies, scores and feedback) per line; CSV has a "
                    "header line first."
                ),
                "content": {
                    "application/x-ndjson": {"schema": STRING},
                    "text/csv": {"schema": STRING},
                },
            },
            errors=(400,),
            params=[
                query("user_id", STRING, "Only this user's records."),
                query("format", {"enum": ["jsonl", "csv"]}, "jsonl (the default) or csv."),
            ],
            admin=True,
            tag="governance",
        )
    },
    "/api/redaction-rules": {
        "get": operation(
            "The org's redaction rules",
            answer("Rules, oldest first.", data({"type": "array", "items": ref("RedactionRule")})),
            admin=True,
            tag="governance",
        ),
        "post": operation(
            "Add a redaction rule",
            answer("The rule.", data(ref("RedactionRule"))),
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
            admin=True,
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
            admin=True,
            tag="governance",
        )
    },
    "/api/provider-keys": {
        "get": operation(
            "The org's provider keys (never the keys themselves)",
            answer("Providers with a key.", data({"type": "array", "items": ref("ProviderKey")})),
            admin=True,
            tag="provider-keys",
        )
    },
    "/api/provider-keys/{provider}": {
        "put": operation(
            "Set the org's key for a provider",
            answer("The stored key's provider and last four characters.", data(ref("ProviderKey"))),
            errors=(400, 404),
            params=[path("provider", {"enum": [p.name for p in PROVIDERS]}, "Provider name.")],
            body=obj(
                {"key": {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": r"^\S+$"}},
                **CLOSED,
            ),
            example={"key": "sk-proj-your-openai-key"},
            admin=True,
            tag="provider-keys",
        ),
        "delete": operation(
            "Delete the org's key for a provider",
            answer("Deleted.", obj({"deleted": STRING})),
            errors=(404,),
            params=[path("provider", STRING, "Provider name.")],
            admin=True,
            tag="provider-keys",
        ),
    },
    "/api/cache/stats": {
        "get": operation(
            "What the response cache did for this org in this process",
            answer("Counters since the process started.", data(ref("CacheStats"))),
            tag="cache",
        )
    },
    "/api/prompts": {
        "get": operation(
            "The org's prompts",
            answer("Prompts.", data({"type": "array", "items": ref("PromptSummary")})),
            errors=(400,),
            tag="prompts",
        ),
        "post": operation(
            "Create a prompt with its first version",
            answer("The prompt and its version 1.", data(ref("Prompt"))),
            status=201,
            errors=(400, 409),
            body=obj({"id": PROMPT_ID, "messages": MESSAGES}, VERSION_FIELDS, **CLOSED),
            example={
                "id": "support-answer",
                "messages": [{"role": "user", "content": "Answer {{question}} politely."}],
                "model": "gpt-4o-mini",
                "labels": ["production"],
            },
            admin=True,
            tag="prompts",
        ),
    },
    "/api/prompts/{id}": {
        "get": operation(
            "A prompt and one of its versions",
            answer("The prompt.", data(ref("Prompt"))),
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id."), query("version", SELECTOR, "Version.")],
            tag="prompts",
        )
    },
    "/api/prompts/{id}/versions": {
        "get": operation(
            "Every version of a prompt, newest first",
            answer("Versions.", data({"type": "array", "items": ref("PromptVersion")})),
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id.")],
            tag="prompts",
        ),
        "post": operation(
            "Add a version",
            answer("The prompt and the new version.", data(ref("Prompt"))),
            status=201,
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id.")],
            body=obj({"messages": MESSAGES}, VERSION_FIELDS, **CLOSED),
            example={
                "messages": [{"role": "user", "content": "Answer {{question}} briefly."}],
                "note": "shorter answers",
            },
            admin=True,
            tag="prompts",
        ),
    },
    "/api/prompts/{id}/labels/{label}": {
        "put": operation(
            "Point a label at a version",
            answer(
                "The label.",
                data(obj({"prompt_id": STRING, "label": STRING, "version": INTEGER})),
            ),
            errors=(400, 404),
            params=[path("id", PROMPT_ID, "Prompt id."), path("label", LABEL, "Label name.")],
            body=obj({"version": {"type": "integer", "minimum": 1}}, **CLOSED),
            example={"version": 1},
            admin=True,
            tag="prompts",
        )
    },
    "/api/prompts/{id}/render": {
        "post": operation(
            "Fill a version's template without calling a provider",
            answer(
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
}
