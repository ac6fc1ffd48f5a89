"""Schemathesis against a whole gateway (in this process), through the OpenAPI
description it serves: no 500s anywhere, and every response has a documented status,
content type and shape.

One test per operation of the description, in both generation modes: valid inputs
(from the schemas) and invalid ones (which must be refused with a documented 4xx,
never a 500). The org holds a little of everything first (records with bodies, a
prompt, a rule, a provider key), so reads return real data to check against the
schemas. Operations come from the description itself, so new routes are covered.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
import urllib3
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from relayscope.api.openapi import OPENAPI_PATH, document
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 10
POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE


@schemathesis.serializer("application/jsonl")
def _jsonl(_ctx: Any, value: Any) -> bytes:
    """A dataset import's body: the generated value as is when it is text (any text,
    JSON Lines or not, which the API must answer with a documented status), else as
    one JSON line."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, default=str).encode() + b"\n"


def breakable(operation: dict) -> bool:
    """Whether negative cases exist: a body, a query parameter or a constrained path
    parameter (the key is always valid, and any string is a valid plain path parameter)."""
    return "requestBody" in operation or any(
        param["in"] == "query" or param["schema"] != {"type": "string"}
        for param in operation.get("parameters", ())
    )


CASES = [
    (method.upper(), path, mode)
    for path, item in document()["paths"].items()
    for method, operation in item.items()
    for mode in (POSITIVE, NEGATIVE)
    if mode is POSITIVE or breakable(operation)
]


class GatewayAdapter(requests.adapters.HTTPAdapter):
    """Hands the requests Schemathesis sends to the in-process gateway, and its answers
    back as the responses a socket would have given (status, reason, every header)."""

    def __init__(self, gateway: AsgiGateway) -> None:
        super().__init__()
        self._gateway = gateway

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert request.method is not None and request.url is not None
        answer = self._gateway.request(
            request.method, request.url, headers=dict(request.headers), content=request.body
        )
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(answer.content),
            headers=urllib3.HTTPHeaderDict(answer.headers.multi_items()),
            status=answer.status_code,
            reason=answer.reason_phrase,
            version=11,
            preload_content=False,
        )
        return self.build_response(request, raw)


@pytest.fixture(scope="module")
def session(gateway) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.mount(gateway.url, GatewayAdapter(gateway))
        yield http


@pytest.fixture(scope="module")
def seeded(gateway, fake_server) -> OrgKey:
    org = gateway.new_org()
    with gateway.http() as client:
        ids = []
        for user in ("alice", "bob"):
            response = client.post(
                "/openai/v1/chat/completions",
                headers={**org.auth, "Helicone-User-Id": user, "Helicone-Property-App": "x"},
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            )
            assert response.status_code == 200
            ids.append(response.headers["helicone-id"])
        api = {"headers": org.bearer}
        prompt = {"id": "greeting", "messages": [{"role": "user", "content": "Hi {{name}}"}]}
        assert client.post("/api/prompts", json=prompt, **api).status_code == 201
        rule = {"kind": "detector", "value": "email"}
        assert client.post("/api/redaction-rules", json=rule, **api).status_code == 201
        key = {"key": "sk-test-provider-key-1234"}
        assert client.put("/api/provider-keys/openai", json=key, **api).status_code == 200
    for request_id in ids:
        gateway.record(org, request_id)
    return org


@pytest.fixture(scope="module")
def api_schema(gateway, seeded) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})
    served = gateway.get(OPENAPI_PATH)
    assert served.status_code == 200
    return schemathesis.openapi.from_dict(served.json(), config=config)


@pytest.mark.parametrize(
    ("method", "path", "mode"), CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES]
)
def test_operation_conforms_and_never_fails(
    gateway, api_schema, session, seeded, method, path, mode
):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=gateway.url,
            session=session,
            headers=seeded.bearer,
            checks=CHECKS,
            timeout=10,
        )

    run()
