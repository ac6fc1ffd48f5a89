"""The OpenAPI description covers every API route and logging endpoint (custom logs,
OTLP traces, Helicone's scores and feedback) and is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import asyncio

from openapi_spec_validator import validate
from starlette.routing import BaseRoute, Route

from relayscope.api.openapi import OPENAPI_PATH, document
from relayscope.config import Settings
from relayscope.gateway import build_gateway
from relayscope.ingest import api as ingest_api


def api_operations(tmp_path) -> set[tuple[str, str]]:
    """(path, method) of every route of the API app the gateway builds, and of its
    logging app's paths (``ingest.api.PATHS``: the app shares the API's routes)."""

    async def routes() -> list[BaseRoute]:
        async with build_gateway(Settings(data_dir=tmp_path)) as gateway:
            ingest = gateway.ingest.app.routes
            logging = [r for r in ingest if getattr(r, "path", None) in ingest_api.PATHS]
            return [*gateway.api.routes, *logging]

    found, unknown = set(), []
    for route in asyncio.run(routes()):
        if not isinstance(route, Route):
            unknown.append(repr(route))
            continue
        for method in route.methods or {"GET"}:
            if method != "HEAD":  # Starlette adds HEAD to every GET route
                found.add((route.path, method.lower()))
    assert not unknown, f"API routes that are not plain Routes, describe them: {unknown}"
    return found


def test_every_api_route_is_described(tmp_path):
    described = {(path, method) for path, item in document()["paths"].items() for method in item}
    routes = api_operations(tmp_path)
    logging = {
        ("/custom/v1/log", "post"),
        ("/oai/v1/log", "post"),
        ("/anthropic/v1/log", "post"),
        ("/v1/traces", "post"),
        ("/v1/request/{id}/feedback", "post"),
        ("/v1/request/{id}/score", "post"),
    }
    assert logging <= routes, "the sweep below covers the logging and Helicone routes"
    missing = sorted(routes - described)
    assert not missing, (
        "API routes missing from the description in src/relayscope/api/openapi/ (add them): "
        + ", ".join(f"{method.upper()} {path}" for path, method in missing)
    )
    stale = sorted(described - routes)
    assert not stale, f"described but not routed: {stale}"


def test_the_description_is_valid_openapi():
    validate(document())


def test_every_operation_documents_its_errors_as_openai_style_objects():
    """But OTLP's, which are a google.rpc.Status in either encoding."""
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            errors = {code for code in operation["responses"] if code[0] in "45"}
            if path != OPENAPI_PATH:
                assert "401" in errors, f"{method.upper()} {path} does not document 401"
            for code in errors:
                content = operation["responses"][code]["content"]
                schema = content["application/json"]["schema"]
                if path == "/v1/traces":
                    assert schema == {"$ref": "#/components/schemas/RpcStatus"}
                    assert "application/x-protobuf" in content
                else:
                    assert schema == {"$ref": "#/components/schemas/Error"}


def test_the_logging_endpoints_document_their_shapes():
    paths = document()["paths"]
    custom = paths["/custom/v1/log"]["post"]
    body = custom["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["providerRequest", "providerResponse"]
    assert "timing" in body["properties"]
    ok = custom["responses"]["200"]
    assert "Helicone-Id" in ok["headers"]
    assert ok["content"]["application/json"]["schema"]["properties"]["data"]["properties"] == {
        "id": {"type": "string"}
    }
    traces = paths["/v1/traces"]["post"]
    assert set(traces["requestBody"]["content"]) == {"application/x-protobuf", "application/json"}
    assert set(traces["responses"]) == {"200", "400", "401", "413", "415", "503"}
    assert (
        "partialSuccess"
        in (traces["responses"]["200"]["content"]["application/json"]["schema"]["properties"])
    )
    for helicone in ("/v1/request/{id}/score", "/v1/request/{id}/feedback"):
        answer = paths[helicone]["post"]["responses"]["200"]["content"]["application/json"]
        assert answer["schema"]["properties"] == {
            "data": {"type": "null"},
            "error": {"type": "null"},
        }


def test_it_is_served_without_a_key(gateway):
    with gateway.http() as client:
        response = client.get(OPENAPI_PATH)
    assert response.status_code == 200
    served = response.json()
    assert served["openapi"].startswith("3.1")
    assert "/api/requests/{id}" in served["paths"]


def test_other_api_calls_still_need_a_key(gateway):
    with gateway.http() as client:
        response = client.get("/api/requests")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_a_wrong_method_is_an_openai_style_405(gateway, org):
    with gateway.api(org) as client:
        response = client.post("/api/requests")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "http_405"
