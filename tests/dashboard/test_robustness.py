"""The dashboard never answers 500 to what a user can put in a URL or a client can put
in a logged body: junk query parameters are a 400 page naming the parameter, and a
record of any JSON shape renders."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from relayscope.api import ApiServices, create_api
from relayscope.auth.keys import KeyResolver
from relayscope.dashboard import create_dashboard
from relayscope.prompts.api import routes as prompts_routes
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.repository import PromptRepository
from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore

JUNK = ["junk", "property:", "-1", "0", "99999999999999999999", "1e9", "%00", "\u202e", "[]"]
PAGES = {
    "/dashboard/requests": [
        "limit",
        "cursor",
        "status",
        "from",
        "to",
        "prompt_version",
        "search",
        "prop",
        "col",
    ],
    "/dashboard/sessions": ["limit", "cursor", "from", "to", "sort", "user_id"],
    "/dashboard/users": ["limit", "offset", "sort", "from", "to"],
    "/dashboard/properties": ["name", "limit", "offset", "sort", "from", "to"],
    "/dashboard/analytics": [
        "group_by",
        "granularity",
        "range",
        "from",
        "to",
        "status",
        "top",
        "latency_stat",
    ],
    "/dashboard/prompts": ["id", "from_version", "to_version"],
}

SHAPES: dict[str, tuple[Any, Any]] = {
    "function is a string": (
        {"messages": [{"role": "assistant", "tool_calls": [{"function": "x"}]}]},
        None,
    ),
    "tool_calls is not a list": (
        {"messages": [{"role": "assistant", "tool_calls": {"function": {"name": "x"}}}]},
        {"choices": [{"message": {"role": "assistant", "tool_calls": "nope"}}]},
    ),
    "tool_calls items are strings or numbers": (
        {"messages": [{"role": "assistant", "tool_calls": ["x", 3, None]}]},
        {"choices": [{"message": {"tool_calls": [{"function": None}]}}]},
    ),
    "content is a number": (
        {"messages": [{"role": "user", "content": 42}], "system": 7},
        {"type": "message", "content": 3.5},
    ),
    "messages is null": ({"messages": None, "prompt": 5}, {"choices": None}),
    "messages is a string": ({"messages": "hello"}, {"choices": "x"}),
    "messages hold non-objects": ({"messages": [1, "two", None, []]}, {"choices": [1, None]}),
    "content parts are odd": (
        {
            "messages": [
                {
                    "role": {"nested": True},
                    "content": [
                        {"type": "tool_use", "name": None, "input": {"a": [1, 2]}},
                        {"type": "tool_result", "content": [{"type": "text", "text": 5}]},
                        {"type": None},
                        7,
                    ],
                }
            ]
        },
        {"type": "message", "role": None, "content": [{"type": "text"}]},
    ),
    "body is a list": ([1, 2, 3], ["a"]),
    "body is a scalar": (12, "plain text answer"),
    "deep nesting": ({"messages": [{"content": [[[[[[[[]]]]]]]]}]}, None),
    "messages is a number": ({"messages": 5, "system": {"a": 1}}, {"choices": 5}),
    # Decodable (orjson reads 1024 levels) but not encodable again (it writes 255).
    "nested deeper than 255 levels": (
        {"messages": [{"role": "user", "content": orjson.Fragment(b"[" * 300 + b"]" * 300)}]},
        None,
    ),
}


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'd.db'}")
    await store.migrate()
    yield store
    await store.close()


async def signed_in(store: SqlStore) -> tuple[httpx.AsyncClient, str]:
    org = await store.ensure_org("acme")
    _info, key = await store.create_key(org.id)
    api = create_api(
        ApiServices(
            store=store,
            keys=KeyResolver(store.lookup_key),
            logs=store,
            prompts=PromptCatalog(PromptRepository(store.database)),
        ),
        routes=prompts_routes(),
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_dashboard(store=store, api=api)),
        base_url="https://testserver",
    )
    form = (await client.get("/dashboard/signin")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = await client.post("/dashboard/signin", data={"csrf_token": token, "key": key})
    assert response.status_code == 303
    return client, org.id


def record(org_id: str, ident: str, request_body: Any, response_body: Any) -> LogRecord:
    def text(body: Any) -> str | None:
        return None if body is None else orjson.dumps(body).decode()

    return LogRecord(
        id=ident,
        org_id=org_id,
        created_at=datetime.now(UTC),
        provider="openai",
        path="/openai/v1/chat/completions",
        status=200,
        latency_ms=12.0,
        request_body=text(request_body),
        response_body=text(response_body),
    )


async def test_junk_query_parameters_are_a_400_page_not_a_500(store):
    client, org_id = await signed_in(store)
    await store.insert_requests([record(org_id, "r1", {"messages": []}, None)])
    failures = []
    try:
        for page, names in PAGES.items():
            for name in names:
                for value in JUNK:
                    response = await client.get(page, params={name: value})
                    if response.status_code >= 500:
                        failures.append(f"{page}?{name}={value!r}: {response.status_code}")
        analytics = await client.get("/dashboard/analytics", params={"group_by": "junk"})
        assert analytics.status_code == 400
        assert "group_by" in analytics.text
        for name, value in (("top", "7"), ("latency_stat", "p42")):
            refused = await client.get("/dashboard/analytics", params={name: value})
            assert refused.status_code == 400, name
            assert name in refused.text
    finally:
        await client.aclose()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("shape", list(SHAPES))
async def test_a_record_of_any_json_shape_renders(store, shape):
    client, org_id = await signed_in(store)
    request_body, response_body = SHAPES[shape]
    await store.insert_requests([record(org_id, "odd", request_body, response_body)])
    try:
        page = await client.get("/dashboard/requests/odd")
        listing = await client.get("/dashboard/requests")
        previews = await client.get("/dashboard/requests?col=request&col=response")
    finally:
        await client.aclose()
    assert page.status_code == 200, page.text[-2000:]
    assert listing.status_code == 200
    assert previews.status_code == 200, previews.text[-2000:]
