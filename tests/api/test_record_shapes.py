"""A logged body of any JSON shape comes back from ``/api/requests/{id}``: one nested
deeper than the encoder writes (255 levels; the decoder reads 1024) used to be a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from relayscope.api import ApiServices, create_api
from relayscope.auth.keys import KeyResolver
from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore

DEEP = "[" * 300 + "]" * 300


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'd.db'}")
    await store.migrate()
    yield store
    await store.close()


async def test_a_body_nested_too_deep_to_reencode_comes_back_as_text(store):
    org = await store.ensure_org("acme")
    _info, key = await store.create_key(org.id)
    body = f'{{"messages": [{{"role": "user", "content": {DEEP}}}]}}'
    await store.insert_requests(
        [
            LogRecord(
                id="deep",
                org_id=org.id,
                created_at=datetime.now(UTC),
                provider="openai",
                path="/openai/v1/chat/completions",
                status=200,
                latency_ms=1.0,
                request_body=body,
                response_body='{"ok": true}',
            )
        ]
    )
    api = create_api(ApiServices(store=store, keys=KeyResolver(store.lookup_key), logs=store))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://gateway"
    ) as client:
        response = await client.get(
            "/api/requests/deep", headers={"Authorization": f"Bearer {key}"}
        )
    assert response.status_code == 200
    data = orjson.loads(response.content)["data"]
    assert data["request_body"] == body
    assert data["response_body"] == {"ok": True}
