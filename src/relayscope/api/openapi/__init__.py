"""The OpenAPI 3.1 description of the JSON API, served at ``GET /api/openapi.json``.

Every route of the API app and of the logging endpoints (``ingest.api``) must appear
here (``tests/api/test_openapi.py`` fails otherwise): a feature that adds routes adds
their operations to one of the path modules (``core``, ``operators``, ``analytics``,
``scores``, ``evaluators``, ``ingest``) or a new one merged in ``document``.
Schemas mirror what the handlers return; errors are the OpenAI-style object of
``errors.py``. Every request body has an ``example``: users copy it, and the
org-isolation test sends it.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.openapi.analytics import ANALYTICS_PATHS
from relayscope.api.openapi.audit import AUDIT_PATHS
from relayscope.api.openapi.budgets import BUDGET_PATHS
from relayscope.api.openapi.build import OPENAPI_PATH, Schema
from relayscope.api.openapi.core import CORE_PATHS
from relayscope.api.openapi.datasets import DATASET_PATHS, EXPERIMENT_PATHS
from relayscope.api.openapi.evaluators import EVALUATOR_PATHS
from relayscope.api.openapi.ingest import INGEST_PATHS, INGEST_SCHEMAS
from relayscope.api.openapi.keys import KEY_PATHS
from relayscope.api.openapi.operators import OPERATOR_PATHS
from relayscope.api.openapi.schemas import SCHEMAS
from relayscope.api.openapi.scores import SCORE_PATHS

__all__ = ["OPENAPI_PATH", "document", "routes"]


def document() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "RelayScope API",
            "version": "1",
            "description": "Logging (Helicone's custom logs, OTLP traces), logs, scores, "
            "evaluators, datasets, experiments, analytics, governance, gateway keys, "
            "provider keys, cache, prompts, alerts, webhooks, rate limits, teams and "
            "budgets, and the audit log of a RelayScope gateway. Every call but this "
            "description needs a gateway key and sees only that key's org. Errors are "
            "OpenAI-style: "
            '`{"error": {"message", "type", "code", "param"}}`; those of `/v1/traces` are '
            "a google.rpc.Status, as OTLP/HTTP asks.",
        },
        "servers": [{"url": "/"}],
        "security": [{"gatewayKey": []}],
        "paths": {
            **CORE_PATHS,
            **OPERATOR_PATHS,
            **ANALYTICS_PATHS,
            **SCORE_PATHS,
            **DATASET_PATHS,
            **EXPERIMENT_PATHS,
            **EVALUATOR_PATHS,
            **AUDIT_PATHS,
            **INGEST_PATHS,
            **BUDGET_PATHS,
            **KEY_PATHS,
        },
        "components": {
            "schemas": {**SCHEMAS, **INGEST_SCHEMAS},
            "securitySchemes": {
                "gatewayKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A gateway key (`relayscope keys create`). Operations "
                    "that document 403 need an admin key (`relayscope keys create --admin`).",
                }
            },
        },
    }


_BODY = orjson.dumps(document())


async def serve(_request: Request) -> Response:
    return Response(_BODY, media_type="application/json")


routes = [Route(OPENAPI_PATH, serve, methods=["GET"])]
