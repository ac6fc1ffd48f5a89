"""Operations of alerts, request webhooks and rate limits."""

from __future__ import annotations

from relayscope.alerts.channels import KINDS as CHANNEL_KINDS
from relayscope.alerts.rules import COMPARISONS as ALERT_COMPARISONS
from relayscope.alerts.rules import METRICS as ALERT_METRICS
from relayscope.alerts.rules import MODES as ALERT_MODES
from relayscope.api.openapi.build import (
    CLOSED,
    NUMBER,
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
    ALERT_FILTERS,
    DURATION,
)

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
            "description": "Only for error_rate, latency and score_avg metrics.",
        },
        "score": {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "description": "The score a score_avg rule averages (required for it, refused "
            "for other metrics); helicone-feedback is the share of positive feedback.",
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
            answer("Rules.", data({"type": "array", "items": ref("AlertRule")})),
            admin=True,
            tag="alerts",
        ),
        "post": operation(
            "Create an alert rule",
            answer("The rule.", data(ref("AlertRule"))),
            status=201,
            errors=(400,),
            body=RULE_BODY,
            example=RULE_EXAMPLE,
            admin=True,
            tag="alerts",
        ),
    },
    "/api/alerts/rules/{id}": {
        "get": operation(
            "One alert rule and its state",
            answer("The rule.", data(ref("AlertRule"))),
            errors=(404,),
            params=[ID],
            admin=True,
            tag="alerts",
        ),
        "put": operation(
            "Replace an alert rule",
            answer("The rule.", data(ref("AlertRule"))),
            errors=(400, 404),
            params=[ID],
            body=RULE_BODY,
            example=RULE_EXAMPLE,
            admin=True,
            tag="alerts",
        ),
        "delete": operation(
            "Delete an alert rule",
            {"description": "Deleted."},
            status=204,
            errors=(404,),
            params=[ID],
            admin=True,
            tag="alerts",
        ),
    },
    "/api/alerts/channels": {
        "get": operation(
            "The org's alert channels (secrets masked)",
            answer("Channels.", data({"type": "array", "items": ref("AlertChannel")})),
            admin=True,
            tag="alerts",
        ),
        "post": operation(
            "Create an alert channel",
            answer("The channel.", data(ref("AlertChannel"))),
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
            admin=True,
            tag="alerts",
        ),
    },
    "/api/alerts/channels/{id}": {
        "get": operation(
            "One alert channel",
            answer("The channel.", data(ref("AlertChannel"))),
            errors=(404,),
            params=[ID],
            admin=True,
            tag="alerts",
        ),
        "delete": operation(
            "Delete an alert channel",
            {"description": "Deleted."},
            status=204,
            errors=(404,),
            params=[ID],
            admin=True,
            tag="alerts",
        ),
    },
    "/api/alerts/channels/{id}/test": {
        "post": operation(
            "Send a test notification through a channel (one attempt)",
            answer(
                "How the delivery went.",
                data({"allOf": [obj({"channel_id": STRING}), ref("Delivery")]}),
            ),
            errors=(404,),
            params=[ID],
            admin=True,
            tag="alerts",
        )
    },
    "/api/alerts/history": {
        "get": operation(
            "Alert events, newest first",
            answer(
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
            admin=True,
            tag="alerts",
        )
    },
    "/api/webhooks": {
        "get": operation(
            "The org's request webhooks (secrets masked)",
            answer("Webhooks.", data({"type": "array", "items": ref("Webhook")})),
            admin=True,
            tag="webhooks",
        ),
        "post": operation(
            "Create a request webhook: every request of the org is posted to it",
            answer("The webhook.", data(ref("Webhook"))),
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
            admin=True,
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
            admin=True,
            tag="webhooks",
        )
    },
    "/api/rate-limits": {
        "get": operation(
            "The org's standing rate-limit policies",
            answer("Policies.", data({"type": "array", "items": ref("RateLimit")})),
            admin=True,
            tag="rate-limits",
        ),
        "post": operation(
            "Create a policy, or change the quota of the one with the same key, window, unit "
            "and segment",
            answer("The policy (201 when created, 200 when changed).", data(ref("RateLimit"))),
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
            admin=True,
            tag="rate-limits",
            also={200: answer("The existing policy, with the new quota.", data(ref("RateLimit")))},
        ),
    },
    "/api/rate-limits/{id}": {
        "delete": operation(
            "Delete a policy",
            answer("Deleted.", data(obj({"id": STRING, "deleted": {"const": True}}))),
            errors=(404,),
            params=[ID],
            admin=True,
            tag="rate-limits",
        )
    },
}
