"""Dashboard pages in-process: the prompts page against the real prompts API, sign-in
redirects, security headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from relayscope.api import ApiServices, create_api
from relayscope.auth.keys import KeyResolver
from relayscope.dashboard import create_dashboard
from relayscope.prompts.api import routes as prompts_routes
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.repository import PromptRepository
from relayscope.store.sql import SqlStore


def prompts_api(store: SqlStore) -> Starlette:
    """The real API app with the prompts routes, as the gateway serves it."""
    return create_api(
        ApiServices(
            store=store,
            keys=KeyResolver(store.lookup_key),
            logs=store,
            prompts=PromptCatalog(PromptRepository(store.database)),
        ),
        routes=prompts_routes(),
    )


async def add_prompt_versions(api: Starlette, key: str) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="https://testserver",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        first = {
            "id": "greet",
            "messages": [{"role": "system", "content": "You are terse."}],
            "model": "gpt-4o-mini",
            "parameters": {"temperature": 0},
            "note": "first",
        }
        assert (await client.post("/api/prompts", json=first)).status_code == 201
        second = {
            "messages": [{"role": "system", "content": "You are friendly."}],
            "model": "gpt-4o-mini",
            "parameters": {"temperature": 0.3},
            "note": "warmer",
        }
        assert (await client.post("/api/prompts/greet/versions", json=second)).status_code == 201
        for label, version in (("production", 1), ("staging", 2)):
            put = await client.put(f"/api/prompts/greet/labels/{label}", json={"version": version})
            assert put.status_code == 200


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'd.db'}")
    await store.migrate()
    yield store
    await store.close()


async def signed_in_client(store: SqlStore, api: object) -> tuple[httpx.AsyncClient, str, str]:
    org = await store.ensure_org("acme")
    _info, key = await store.create_key(org.id, role="admin")
    app = create_dashboard(store=store, api=api)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    )
    form = (await client.get("/dashboard/signin")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = await client.post(
        "/dashboard/signin", data={"csrf_token": token, "key": key, "next": "/dashboard/prompts"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/prompts"
    return client, org.id, key


async def test_prompts_list_versions_labels_and_diff(store):
    api = prompts_api(store)
    client, _org_id, key = await signed_in_client(store, api)
    try:
        empty = (await client.get("/dashboard/prompts")).text
        assert "No prompts yet" in empty
        await add_prompt_versions(api, key)
        listing = (await client.get("/dashboard/prompts")).text
        assert "greet" in listing and "production → v1" in listing and "staging → v2" in listing
        page = (await client.get("/dashboard/prompts", params={"id": "greet"})).text
        assert "first" in page and "warmer" in page
        assert "/dashboard/requests?prompt_id=greet&amp;prompt_version=1" in page
        assert '<span class="del">-      &#34;content&#34;: &#34;You are terse.&#34;' in page
        assert '<span class="add">+      &#34;content&#34;: &#34;You are friendly.&#34;' in page
        assert '<span class="add">+    &#34;temperature&#34;: 0.3' in page
    finally:
        await client.aclose()


async def test_pages_need_a_session_and_send_security_headers(store):
    app = create_dashboard(store=store, api=Starlette())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        root = await client.get("/")
        assert root.status_code == 303 and root.headers["location"] == "/dashboard"
        page = await client.get("/dashboard/users?sort=cost")
        assert page.status_code == 303
        assert (
            page.headers["location"] == "/dashboard/signin?next=%2Fdashboard%2Fusers%3Fsort%3Dcost"
        )
        form = await client.get("/dashboard/signin")
        assert "script-src 'self'" in form.headers["content-security-policy"]
        assert form.headers["x-frame-options"] == "DENY"
        cookie = form.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
        # a sign-in form without the matching CSRF cookie value is refused
        bad = await client.post("/dashboard/signin", data={"csrf_token": "nope", "key": "x"})
        assert bad.status_code == 403
