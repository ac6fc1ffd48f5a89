"""Operations of teams and budgets (``relayscope.budgets.api``)."""

from __future__ import annotations

from relayscope.api.openapi.build import (
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
)
from relayscope.budgets.model import LEVELS
from relayscope.budgets.periods import PERIODS, RESETS
from relayscope.budgets.soft_limits import THRESHOLDS

TEAM_ID = path("id", STRING, "The team's id.")
KEY_ID = path("key_id", STRING, "A gateway key id of this org.")
BUDGET_ID = path("id", STRING, "The budget's id.")
TEAM: Schema = obj(
    {
        "id": STRING,
        "name": STRING,
        "key_ids": {"type": "array", "items": STRING},
        "created_at": TIMESTAMP,
    }
)
BUDGET: Schema = obj(
    {
        "id": STRING,
        "level": {"enum": list(LEVELS)},
        "target": nullable(STRING),
        "usd_limit": nullable(NUMBER),
        "token_limit": nullable(INTEGER),
        "period": {"enum": list(PERIODS)},
        "reset": {"enum": list(RESETS)},
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "period_start": TIMESTAMP,
        "resets_at": TIMESTAMP,
        "spent_usd": {**NUMBER, "description": "Spent in the current period (log store)."},
        "spent_tokens": INTEGER,
    },
    {
        "alerts": {
            "type": "array",
            "description": f"Soft-limit alerts sent ({', '.join(map(str, THRESHOLDS))} %).",
            "items": obj(
                {
                    "threshold": INTEGER,
                    "period_start": TIMESTAMP,
                    "spent_usd": nullable(NUMBER),
                    "spent_tokens": nullable(INTEGER),
                    "sent_at": TIMESTAMP,
                }
            ),
        }
    },
)
NEW_BUDGET: Schema = obj(
    {"level": {"enum": list(LEVELS)}},
    {
        "target": {
            **nullable(STRING),
            "description": "Team id, Helicone-User-Id or gateway key id; none for the org.",
        },
        "usd_limit": {"type": "number", "exclusiveMinimum": 0},
        "token_limit": {"type": "integer", "minimum": 1},
        "period": {"enum": list(PERIODS), "default": "month"},
        "reset": {"enum": list(RESETS), "default": "calendar"},
    },
    **CLOSED,
)
DELETED: Schema = data(obj({"id": STRING, "deleted": {"const": True}}))

BUDGET_PATHS: dict[str, dict[str, Schema]] = {
    "/api/teams": {
        "get": operation(
            "The org's teams and their keys",
            answer("Teams.", data({"type": "array", "items": TEAM})),
            admin=True,
            tag="budgets",
        ),
        "post": operation(
            "Create a team",
            answer("The team.", data(TEAM)),
            status=201,
            errors=(409,),
            body=obj({"name": {"type": "string", "minLength": 1, "maxLength": 128}}, **CLOSED),
            example={"name": "research"},
            admin=True,
            tag="budgets",
        ),
    },
    "/api/teams/{id}": {
        "get": operation(
            "A team",
            answer("The team.", data(TEAM)),
            errors=(404,),
            params=[TEAM_ID],
            admin=True,
            tag="budgets",
        ),
        "delete": operation(
            "Delete a team, its keys' membership and its budgets",
            answer("Deleted.", DELETED),
            errors=(404,),
            params=[TEAM_ID],
            admin=True,
            tag="budgets",
        ),
    },
    "/api/teams/{id}/keys/{key_id}": {
        "put": operation(
            "Put a gateway key in the team (moving it from any other)",
            answer("The team.", data(TEAM)),
            errors=(404,),
            params=[TEAM_ID, KEY_ID],
            admin=True,
            tag="budgets",
        ),
        "delete": operation(
            "Take a gateway key out of the team",
            answer("The team.", data(TEAM)),
            errors=(404,),
            params=[TEAM_ID, KEY_ID],
            admin=True,
            tag="budgets",
        ),
    },
    "/api/budgets": {
        "get": operation(
            "The org's budgets, each with its current period and spend",
            answer("Budgets.", data({"type": "array", "items": BUDGET})),
            admin=True,
            tag="budgets",
        ),
        "post": operation(
            "Create a budget at the org, team, user or key level",
            answer("The budget.", data(BUDGET)),
            status=201,
            body=NEW_BUDGET,
            example={"level": "org", "usd_limit": 100.0, "period": "month"},
            admin=True,
            tag="budgets",
            description="A request over any budget it falls under is refused with 429 "
            "`budget_exceeded` until the period resets.",
        ),
    },
    "/api/budgets/{id}": {
        "get": operation(
            "A budget, its spend and the soft-limit alerts it sent",
            answer("The budget.", data(BUDGET)),
            errors=(404,),
            params=[BUDGET_ID],
            admin=True,
            tag="budgets",
        ),
        "delete": operation(
            "Delete a budget",
            answer("Deleted.", DELETED),
            errors=(404,),
            params=[BUDGET_ID],
            admin=True,
            tag="budgets",
        ),
    },
}
