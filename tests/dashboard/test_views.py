"""Dashboard pages in-process: the prompts page against an API serving the documented
prompts shape (and without one), sign-in redirects, security headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from relayscope.api import create_api
from relayscope.auth.keys import KeyResolver
from relayscope.dashboard import create_dashboard
from relayscope.store.sql import SqlStore

VERSIONS = [
    {
        "version": 1,
        "messages": [{"role": "system", "content": "You are terse."}],
        "model": "gpt-4o-mini",
        "params": {"temperature": 0},
        "note": "first",
        "created_at": "2026-03-01T10:00:00+00:00",
        "created_by": "ana",
    },
    {
        "version": 2,
        "messages": [{"role": "system", "content": "You are friendly."}],
        "model": "gpt-4o-mini",
        "params": {"temperature": 0.3},
        "note": "warmer",
        "created_at": "2026-03-02T10:00:00+00:00",
        "created_by": "ben",
    },
]


def prompts_api(seen: list[str]) -> Starlette:
    """An API app serving the prompts endpoints in their documented shape."""

    async def listing(request: Request) -> JSONResponse:
        seen.append(request.scope["relayscope.principal"].org_id)
        return JSONResponse(
            {
                "data": [
                    {
                        "id": "greet",
                        "created_at": "2026-03-01T10:00:00+00:00",
                        "latest_version": 2,
                        "labels": {"production": 1, "staging": 2},
                    }
                ]
            }
        )

    async def detail(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "data": {
                    "id": request.path_params["id"],
                    "latest_version": 2,
                    "labels": {"production": 1, "staging": 2},
                    "versions": VERSIONS,
                }
            }
        )

    return Starlette(routes=[Route("/api/prompts", listing), Route("/api/prompts/{id}", detail)])


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'd.db'}")
    await store.migrate()
    yield store
    await store.close()


async def signed_in_client(store: SqlStore, api: object) -> tuple[httpx.AsyncClient, str]:
    org = await store.ensure_org("acme")
    _info, key = await store.create_key(org.id)
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
    return client, org.id


async def test_prompts_list_versions_labels_and_diff(store):
    seen: list[str] = []
    client, org_id = await signed_in_client(store, prompts_api(seen))
    try:
        listing = (await client.get("/dashboard/prompts")).text
        assert "greet" in listing and "production → v1" in listing and "staging → v2" in listing
        assert seen == [org_id]  # the API is asked on behalf of the session's org
        page = (await client.get("/dashboard/prompts", params={"id": "greet"})).text
        assert "first" in page and "warmer" in page and "by ben" in page
        assert "/dashboard/requests?prompt_id=greet&amp;prompt_version=1" in page
        assert '<span class="del">-      &#34;content&#34;: &#34;You are terse.&#34;' in page
        assert '<span class="add">+      &#34;content&#34;: &#34;You are friendly.&#34;' in page
        assert '<span class="add">+    &#34;temperature&#34;: 0.3' in page
    finally:
        await client.aclose()


async def test_prompts_page_without_a_prompts_api(store):
    client, _org = await signed_in_client(
        store, create_api(store=store, keys=KeyResolver(store.lookup_key))
    )
    try:
        response = await client.get("/dashboard/prompts")
    finally:
        await client.aclose()
    assert response.status_code == 200
    assert 'id="prompts-unavailable"' in response.text


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
