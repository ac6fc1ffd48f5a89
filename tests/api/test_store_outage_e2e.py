"""While the store is unreachable, the API and the dashboard answer 503 with Retry-After,
never a 500, and the log says so a few times rather than once per key lookup.

Postgres goes away for real: the gateway reaches it through a TCP relay the test cuts
(a soak run saw /api/requests answer 500 and 18,799 "key lookup failed" warnings in
30 s).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from relayscope.api.openapi import document
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import create_org
from relayscope.testing.outage import Outage
from relayscope.testing.postgres import PostgresDatabases
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
FILL = {"id": "x", "provider": "openai", "label": "production", "user_id": "u", "name": "p"}
# Served from the process's memory, not the store.
# Served without the store: from memory, or (dead letters) from files in the data dir.
IN_MEMORY = {"/api/openapi.json", "/api/cache/stats", "/api/dead-letters"}
DASHBOARD_PAGES = [
    "/dashboard/requests",
    "/dashboard/requests/x",
    "/dashboard/sessions",
    "/dashboard/sessions/x",
    "/dashboard/users",
    "/dashboard/properties",
    "/dashboard/analytics",
    "/dashboard/prompts",
]


@pytest.fixture
def outage(postgres_databases: PostgresDatabases) -> Iterator[Outage]:
    url = postgres_databases.create()
    outage = Outage(url)
    yield outage
    outage.close()
    postgres_databases.drop(url)


def api_reads() -> list[str]:
    paths = []
    for path, item in document()["paths"].items():
        if "get" in item and path not in IN_MEMORY:
            paths.append(re.sub(r"{(\w+)}", lambda m: FILL[m.group(1)], path))
    return paths


def dashboard_cookie(client: httpx.Client, key: str) -> str:
    form = client.get("/dashboard/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    signin_cookie = form.cookies["relayscope_signin_csrf"]
    signed_in = client.post(
        "/dashboard/signin",
        data={"csrf_token": csrf, "key": key, "next": "/dashboard/requests"},
        headers={"Cookie": f"relayscope_signin_csrf={signin_cookie}"},
    )
    assert signed_in.status_code == 303, signed_in.text
    return f"relayscope_session={signed_in.cookies['relayscope_session']}"


def test_api_and_dashboard_answer_503_while_the_store_is_down(
    tmp_path, fake_server, outage, caplog
):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": outage.gateway_url}
    with AsgiGateway(tmp_path, env) as gateway:
        org = create_org(outage.store_url)
        with gateway.http() as client:
            assert client.post("/openai/v1/chat/completions", json=CHAT, headers=org.auth)
            assert client.get("/api/requests", headers=org.bearer).status_code == 200
            cookie = dashboard_cookie(client, org.key)
            assert client.get("/dashboard/requests", headers={"Cookie": cookie}).status_code == 200

            outage.down()
            try:
                answers = {}
                for path in api_reads():
                    answers[f"GET {path}"] = client.get(path, headers=org.bearer)
                answers["POST /api/rate-limits"] = client.post(
                    "/api/rate-limits", json={"policy": "10;w=60"}, headers=org.bearer
                )
                for path in DASHBOARD_PAGES:
                    answers[f"GET {path}"] = client.get(path, headers={"Cookie": cookie})
                form = client.get("/dashboard/signin")  # needs no store
                assert form.status_code == 200
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
                answers["POST /dashboard/signin"] = client.post(
                    "/dashboard/signin",
                    data={"csrf_token": csrf, "key": org.key},
                    headers={"Cookie": f"relayscope_signin_csrf={csrf}"},
                )

                wrong = {
                    call: f"{r.status_code} {r.text[:200]}"
                    for call, r in answers.items()
                    if r.status_code != 503 or not r.headers.get("retry-after", "").isdigit()
                }
                assert not wrong, wrong
                error = answers["GET /api/requests"].json()["error"]
                assert error["code"] == "store_unavailable"
                assert "store" in answers["GET /dashboard/requests"].text

                # Proxied traffic keeps flowing on the cached key, which is looked up
                # again (and fails) every 0.2 s.
                since = time.monotonic()
                while time.monotonic() - since < 2.5:
                    response = client.post(
                        "/openai/v1/chat/completions", json=CHAT, headers=org.auth
                    )
                    assert response.status_code == 200
            finally:
                outage.up()
            wait_until(
                lambda: client.get("/api/requests", headers=org.bearer).status_code == 200,
                timeout=20,
            )
            page = client.get("/dashboard/requests", headers={"Cookie": cookie})
            assert page.status_code == 200
    warnings = caplog.text.count("key lookup failed")
    assert 1 <= warnings <= 2, f"{warnings} 'key lookup failed' warnings in 2.5 s"
