"""Operations of the analytics API: summary, time series, users, properties, sessions."""

from __future__ import annotations

from relayscope.api.openapi.build import (
    INTEGER,
    NULLABLE_TIME,
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
from relayscope.api.openapi.schemas import (
    PROPERTY_FILTER,
    REQUEST_FILTERS,
    SPAN,
)

TOTALS: dict[str, Schema] = {
    "requests": INTEGER,
    "errors": INTEGER,
    "error_rate": NUMBER,
    "prompt_tokens": INTEGER,
    "completion_tokens": INTEGER,
    "total_tokens": INTEGER,
    "cost_usd": NUMBER,
    "avg_latency_ms": nullable(NUMBER),
}
METRIC: Schema = {
    "anyOf": [
        {"enum": ["cost", "requests", "errors", "error_rate", "tokens", "latency"]},
        {"type": "string", "pattern": "^score\\..+", "maxLength": 70},
    ]
}
SORT = query(
    "sort",
    {"enum": ["cost", "requests", "errors", "error_rate", "tokens", "last_seen", "avg_latency"]},
    "Largest first (default cost).",
)
PAGE = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Rows (default 50)."),
    query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}, "Rows to skip."),
]


def entity(key: str) -> Schema:
    """A user's or a property value's totals."""
    return obj({key: STRING, **TOTALS, "first_seen": NULLABLE_TIME, "last_seen": NULLABLE_TIME})


SESSION: Schema = obj(
    {
        "session_id": STRING,
        "name": nullable(STRING),
        "user_id": nullable(STRING),
        "requests": INTEGER,
        "errors": INTEGER,
        "prompt_tokens": INTEGER,
        "completion_tokens": INTEGER,
        "total_tokens": INTEGER,
        "cost_usd": NUMBER,
        "first_at": TIMESTAMP,
        "last_at": TIMESTAMP,
        "duration_ms": NUMBER,
    }
)

ANALYTICS_PATHS: dict[str, dict[str, Schema]] = {
    "/api/analytics/summary": {
        "get": operation(
            "Totals over the filtered requests (default: all time)",
            answer(
                "Totals.",
                data(
                    obj(
                        {
                            "from": NULLABLE_TIME,
                            "to": NULLABLE_TIME,
                            **TOTALS,
                            "rate_limited": INTEGER,
                            "cache_hits": INTEGER,
                            "first_at": NULLABLE_TIME,
                            "last_at": NULLABLE_TIME,
                        }
                    )
                ),
            ),
            errors=(400,),
            params=REQUEST_FILTERS,
            tag="analytics",
            description=PROPERTY_FILTER,
        )
    },
    "/api/analytics/timeseries": {
        "get": operation(
            "A metric per time bucket, optionally per group (default: the last 7 days)",
            answer(
                "Every bucket of the range, and one series per group.",
                data(
                    obj(
                        {
                            "metric": METRIC,
                            "unit": STRING,
                            "granularity": {"enum": ["minute", "hour", "day"]},
                            "group_by": nullable(STRING),
                            "from": TIMESTAMP,
                            "to": TIMESTAMP,
                            "buckets": {"type": "array", "items": TIMESTAMP},
                            "series": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "name": STRING,
                                        "group": nullable(STRING),
                                        "values": {"type": "array", "items": nullable(NUMBER)},
                                    },
                                    {
                                        "stat": {"enum": ["p50", "p95", "p99"]},
                                        "counts": {
                                            "type": "array",
                                            "items": INTEGER,
                                            "description": "Score metrics: the scored "
                                            "requests each average is of.",
                                        },
                                    },
                                ),
                            },
                        }
                    )
                ),
            ),
            errors=(400,),
            params=[
                *REQUEST_FILTERS,
                query(
                    "metric",
                    METRIC,
                    "What to measure (default requests); score.<name> averages that score "
                    "over the scored requests (booleans: the share of true; feedback is "
                    "score.helicone-feedback).",
                ),
                query(
                    "group_by",
                    {
                        "anyOf": [
                            {"enum": ["model", "provider", "user", "prompt"]},
                            {"type": "string", "pattern": "^property:.+"},
                        ]
                    },
                    "model, provider, user, prompt (id and version) or property:<name>.",
                ),
                query("granularity", {"enum": ["minute", "hour", "day"]}, "Bucket size."),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 50}, "Groups."),
            ],
            tag="analytics",
            description="At most 2,000 buckets (a 400 naming granularity beyond). "
            + PROPERTY_FILTER,
        )
    },
    "/api/analytics/scores": {
        "get": operation(
            "The score names on the selected requests",
            answer(
                "Each score name (feedback: helicone-feedback) with how many requests hold "
                "it, its average and whether it is a boolean.",
                obj(
                    {
                        "data": {
                            "type": "array",
                            "items": obj(
                                {
                                    "name": STRING,
                                    "requests": INTEGER,
                                    "average": NUMBER,
                                    "boolean": {"type": "boolean"},
                                }
                            ),
                        }
                    }
                ),
            ),
            errors=(400,),
            params=REQUEST_FILTERS,
            tag="analytics",
            description=PROPERTY_FILTER,
        )
    },
    "/api/users": {
        "get": operation(
            "Totals per user id",
            answer(
                "A page of users.",
                obj({"data": {"type": "array", "items": entity("user_id")}, "total": INTEGER}),
            ),
            errors=(400,),
            params=[*REQUEST_FILTERS, SORT, *PAGE],
            tag="analytics",
            description=PROPERTY_FILTER,
        )
    },
    "/api/properties": {
        "get": operation(
            "Every custom property name, with requests and distinct values",
            answer(
                "Property names.",
                data(
                    {
                        "type": "array",
                        "items": obj({"name": STRING, "requests": INTEGER, "values": INTEGER}),
                    }
                ),
            ),
            errors=(400,),
            params=SPAN,
            tag="analytics",
        )
    },
    "/api/properties/{name}": {
        "get": operation(
            "Totals per value of a custom property",
            answer(
                "A page of values.",
                obj(
                    {
                        "data": {"type": "array", "items": entity("value")},
                        "total": INTEGER,
                        "name": STRING,
                    }
                ),
            ),
            errors=(400,),
            params=[
                path("name", STRING, "The property name (Helicone-Property-<name>), in any case."),
                *REQUEST_FILTERS,
                SORT,
                *PAGE,
            ],
            tag="analytics",
            description=PROPERTY_FILTER,
        )
    },
    "/api/sessions": {
        "get": operation(
            "Sessions with activity in the range, most recent first",
            answer(
                "A page of sessions.",
                obj({"data": {"type": "array", "items": SESSION}, "next_cursor": nullable(STRING)}),
            ),
            errors=(400,),
            params=[
                *SPAN,
                query("user_id", STRING, "Only this user's sessions."),
                query("name", STRING, "Helicone-Session-Name."),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
                query("cursor", STRING, "The next_cursor of the previous page."),
            ],
            tag="analytics",
        )
    },
    "/api/sessions/{id}": {
        "get": operation(
            "One session: totals, its requests (oldest first) and their tree by path",
            answer(
                "The session.",
                data(
                    {
                        "allOf": [
                            SESSION,
                            obj(
                                {
                                    "requests_shown": INTEGER,
                                    "requests_list": {"type": "array", "items": {"type": "object"}},
                                    "tree": {"type": "array", "items": {"type": "object"}},
                                }
                            ),
                        ]
                    }
                ),
            ),
            errors=(404,),
            params=[path("id", STRING, "The Helicone-Session-Id.")],
            tag="analytics",
        )
    },
}
