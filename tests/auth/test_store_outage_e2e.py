"""Proxied requests keep a clear answer while the store is down (found by bench/soak.py).

With the store refusing connections, the key check used to raise out of the proxy:
a bare 500 from the server for every request once the key cache expired.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import create_org
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


async def _admin(sql: str, *args: object) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def admin(sql: str, *args: object) -> None:
    asyncio.run(_admin(sql, *args))


async def _stored_ids(url: str) -> set[str]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return {row["id"] for row in await conn.fetch("SELECT id FROM requests")}
    finally:
        await conn.close()


def stored_ids(url: str) -> set[str]:
    return asyncio.run(_stored_ids(url))


@pytest.fixture
def postgres_db() -> Iterator[tuple[str, str]]:
    name = f"relayscope_test_{uuid.uuid4().hex[:12]}"
    try:
        admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    try:
        yield name, f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_down(name: str) -> None:
    admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )


def test_known_keys_keep_working_and_new_keys_get_503_while_the_store_is_down(
    tmp_path, fake_server, postgres_db
):
    name, url = postgres_db
    env = {
        **fake_provider_env(fake_server.url),  # key cache TTL 0.2 s
        "RELAYSCOPE_DATABASE_URL": url,
        "RELAYSCOPE_STORE_WRITE_TIMEOUT": "1",
    }
    with AsgiGateway(tmp_path, env) as gateway:
        org, newcomer = create_org(url), create_org(url)
        ids = []
        with gateway.http() as client:
            chat = "/openai/v1/chat/completions"
            first = client.post(chat, json=CHAT, headers=org.auth)
            assert first.status_code == 200
            ids.append(first.headers["helicone-id"])

            store_down(name)
            try:
                # Well past several cache TTLs, so the key is looked up again and again.
                down_since = time.monotonic()
                while time.monotonic() - down_since < 1.5:
                    response = client.post(chat, json=CHAT, headers=org.auth)
                    assert response.status_code == 200, response.text
                    ids.append(response.headers["helicone-id"])

                refused = client.post(chat, json=CHAT, headers=newcomer.auth)
                assert refused.status_code == 503
                assert refused.headers["retry-after"].isdigit()
                error = refused.json()["error"]
                assert error["code"] == "store_unavailable"
                assert "store" in error["message"]
            finally:
                admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

            wait_until(lambda: set(ids) <= stored_ids(url), timeout=20)
            wait_until(
                lambda: client.post(chat, json=CHAT, headers=newcomer.auth).status_code == 200,
                timeout=10,
            )
    assert len(ids) > 3
