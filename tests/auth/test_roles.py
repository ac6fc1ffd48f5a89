"""Key roles: a proxy key proxies and reads its org's logs; managing the org needs an
admin key. The sweep walks the route table of the API the gateway builds, so a route
added later without a role decision fails here."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from sqlalchemy import text
from starlette.routing import Mount, Route

from relayscope.api.openapi import document
from relayscope.auth.keys import ADMIN, PROXY, hash_key
from relayscope.cli import main
from relayscope.config import Settings
from relayscope.dashboard.admin import ACTIONS
from relayscope.gateway import Gateway, build_gateway
from relayscope.store import migrate
from relayscope.store.sql import SqlStore

# Reads of the org's logs (and of its prompts, which the proxy fills in): any key.
PROXY_READS = (
    "/api/requests",
    "/api/dead-letters",
    "/api/sessions",
    "/api/users",
    "/api/properties",
    "/api/analytics/",
    "/api/cache/stats",
    "/api/prompts",
    "/api/openapi.json",
    # Datasets and experiments are read by any key; changing them takes an admin key.
    "/api/datasets",
    "/api/experiments",
)
# POSTs that change nothing.
PROXY_POSTS = {
    ("POST", "/api/prompts/{id}/render"),
    # An app scores its own requests right after their responses (docs/scores.md).
    *(
        ("POST", f"{prefix}/{{id}}/{kind}")
        for prefix in ("/v1/request", "/api/requests")
        for kind in ("score", "feedback")
    ),
}
# The dashboard reads; its own forms open and close a session. The forms of the
# evaluators, datasets and experiments pages act through the API as the session's key
# (its role), so the API's role check above decides them.
DASHBOARD_FORMS = {("POST", "/dashboard/signin"), ("POST", "/dashboard/signout")}
ACTS_THROUGH_THE_API = {
    ("POST", "/dashboard/evaluators"),
    ("POST", "/dashboard/evaluators/{id}/delete"),
    ("POST", "/dashboard/evaluators/{id}/run"),
    ("POST", "/dashboard/datasets/{id}/rows/{row_id}"),
    ("POST", "/dashboard/experiments"),
    ("POST", "/dashboard/experiments/{id}/run"),
    *(("POST", action.path) for action in ACTIONS),
}

FILL = {
    "id": "missing",
    "provider": "openai",
    "label": "production",
    "user_id": "someone",
    "name": "feature",
    "row_id": "missing",
    "key_id": "missing",
}
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def proxy_may_call(method: str, path: str) -> bool:
    if method == "GET":
        return path.startswith(PROXY_READS)
    return (method, path) in PROXY_POSTS


def api_routes(gateway: Gateway) -> list[tuple[str, str]]:
    found = []
    for route in gateway.api.routes:
        assert isinstance(route, Route), f"a route the sweep cannot walk: {route!r}"
        found.extend((m, route.path) for m in sorted((route.methods or {"GET"}) - {"HEAD"}))
    return found


def concrete(path: str) -> str:
    return PARAM.sub(lambda m: FILL[m.group(1)], path)


def example_body(method: str, path: str) -> bytes:
    operation = document()["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return orjson.dumps(content.get("example", {}))


@pytest.fixture
async def gateway(tmp_path) -> AsyncIterator[Gateway]:
    async with build_gateway(Settings(data_dir=tmp_path)) as gateway:
        yield gateway


async def keys_of_one_org(store: SqlStore) -> tuple[str, str]:
    org = await store.ensure_org("acme")
    _info, admin_key = await store.create_key(org.id, role=ADMIN)
    _info, proxy_key = await store.create_key(org.id, role=PROXY)
    return admin_key, proxy_key


async def call(gateway: Gateway, key: str, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.api), base_url="http://gateway"
    ) as client:
        return await client.request(
            method,
            concrete(path),
            content=example_body(method, path) if method != "GET" else None,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )


async def test_every_route_refuses_a_proxy_key_unless_it_only_reads_logs(gateway):
    admin_key, proxy_key = await keys_of_one_org(gateway.store)
    routes = api_routes(gateway)
    assert ("DELETE", "/api/rate-limits/{id}") in routes and ("POST", "/api/rate-limits") in routes
    wrong = []
    for method, path in routes:
        as_proxy = await call(gateway, proxy_key, method, path)
        if proxy_may_call(method, path):
            if as_proxy.status_code in (401, 403):
                wrong.append(f"{method} {path}: proxy key refused ({as_proxy.status_code})")
            continue
        error = as_proxy.json().get("error", {}) if as_proxy.status_code == 403 else {}
        if error.get("code") != "admin_key_required" or error.get("type") != "permission_error":
            wrong.append(f"{method} {path}: proxy key got {as_proxy.status_code}")
        as_admin = await call(gateway, admin_key, method, path)
        if as_admin.status_code in (401, 403, 500):
            wrong.append(f"{method} {path}: admin key got {as_admin.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_a_proxy_key_cannot_lift_its_own_rate_limit(gateway):
    admin_key, proxy_key = await keys_of_one_org(gateway.store)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway.api), base_url="http://gateway"
    ) as client:
        as_admin = {"Authorization": f"Bearer {admin_key}"}
        as_proxy = {"Authorization": f"Bearer {proxy_key}"}
        created = await client.post(
            "/api/rate-limits", json={"policy": "1;w=3600"}, headers=as_admin
        )
        assert created.status_code == 201
        policy_id = created.json()["data"]["id"]

        deleted = await client.delete(f"/api/rate-limits/{policy_id}", headers=as_proxy)
        assert deleted.status_code == 403
        assert deleted.json()["error"]["code"] == "admin_key_required"
        loosened = await client.post(
            "/api/rate-limits", json={"policy": "1000000;w=1"}, headers=as_proxy
        )
        assert loosened.status_code == 403
        standing = await client.get("/api/rate-limits", headers=as_admin)
        assert [p["policy"] for p in standing.json()["data"]] == ["1;w=3600;u=request"]
        # ... while its logs stay readable.
        assert (await client.get("/api/requests", headers=as_proxy)).status_code == 200


async def test_the_openapi_description_marks_exactly_the_admin_operations(gateway):
    for method, path in api_routes(gateway):
        operation = document()["paths"][path][method.lower()]
        documented = "403" in operation["responses"]
        assert documented == (not proxy_may_call(method, path)), f"{method} {path}"


async def test_the_dashboard_has_no_action_but_signing_in_and_out(gateway):
    for route in gateway.dashboard.routes:
        if isinstance(route, Mount):
            assert route.path == "/dashboard/static"
            continue
        assert isinstance(route, Route)
        for method in (route.methods or {"GET"}) - {"GET", "HEAD"}:
            assert (method, route.path) in DASHBOARD_FORMS | ACTS_THROUGH_THE_API, (
                f"{method} {route.path}: a dashboard action needs a role decision (admin?)"
            )


def test_the_first_key_serve_prints_is_an_admin_key(tmp_path, monkeypatch):
    monkeypatch.setenv("RELAYSCOPE_DATA_DIR", str(tmp_path))

    async def first_key(store: SqlStore) -> str | None:
        from relayscope.cli import _bootstrap

        return await _bootstrap(store)

    from relayscope.clitools import with_store

    key = with_store(first_key)
    assert key is not None
    principal = with_store(lambda store: store.lookup_key(hash_key(key)))
    assert principal is not None and principal.role == ADMIN


def test_keys_create_makes_proxy_keys_unless_asked_for_admin(tmp_path, monkeypatch):
    monkeypatch.setenv("RELAYSCOPE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    proxy = runner.invoke(main, ["keys", "create", "--org", "acme"])
    admin = runner.invoke(main, ["keys", "create", "--org", "acme", "--admin"])
    assert proxy.exit_code == 0 and admin.exit_code == 0, proxy.output + admin.output
    assert "proxy key" in proxy.output and "admin key" in admin.output
    listed = runner.invoke(main, ["keys", "list", "--org", "acme"]).output
    assert sorted(re.findall(r"\b(admin|proxy)\b", listed)) == ["admin", "proxy"]

    proxy_id = re.search(r"Created proxy key (\S+)", proxy.output).group(1)
    promoted = runner.invoke(main, ["keys", "role", proxy_id, "admin"])
    assert promoted.exit_code == 0, promoted.output
    listed = runner.invoke(main, ["keys", "list", "--org", "acme"]).output
    assert re.findall(r"\b(admin|proxy)\b", listed) == ["admin", "admin"]


def _insert_key(conn: Any, key_id: str, org_id: str, created: datetime, revoked: bool) -> None:
    conn.execute(
        text(
            "INSERT INTO api_keys (id, org_id, key_hash, prefix, name, created_at, revoked_at) "
            "VALUES (:id, :org, :hash, 'sk-relayscope-', NULL, :created, :revoked)"
        ),
        {
            "id": key_id,
            "org": org_id,
            "hash": hash_key(key_id),
            "created": created,
            "revoked": created if revoked else None,
        },
    )


def _keys_of_an_old_store(conn: Any) -> None:
    migrate.command.upgrade(migrate.alembic_config(conn), "0009_dashboard")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for org in ("a", "b"):
        conn.execute(
            text("INSERT INTO orgs (id, name, created_at) VALUES (:id, :id, :at)"),
            {"id": org, "at": start},
        )
    _insert_key(conn, "a-revoked", "a", start, revoked=True)
    _insert_key(conn, "a-first", "a", start + timedelta(days=1), revoked=False)
    _insert_key(conn, "a-second", "a", start + timedelta(days=2), revoked=False)
    _insert_key(conn, "b-only", "b", start + timedelta(days=3), revoked=False)


async def test_upgrading_makes_each_orgs_oldest_active_key_its_admin(store_url):
    store = SqlStore(store_url)
    try:
        async with store.database.begin() as conn:
            await conn.run_sync(_keys_of_an_old_store)
        await store.migrate()
        async with store.database.connect() as conn:
            roles = dict((await conn.execute(text("SELECT id, role FROM api_keys"))).all())
    finally:
        await store.close()
    assert roles == {
        "a-revoked": PROXY,
        "a-first": ADMIN,
        "a-second": PROXY,
        "b-only": ADMIN,
    }
