"""A revoked key stops working within a second, although answers are cached for a minute;
a key made a proxy key loses its admin rights as fast.

Real gateway processes, each caching key answers for 60 s: two replicas sharing a new
Postgres database (told by NOTIFY), and one gateway on SQLite (which polls). The key
is revoked in the store, as ``relayscope keys revoke`` does from another process.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from relayscope.store.sql import SqlStore
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until

LONG_CACHE = {"RELAYSCOPE_KEY_CACHE_TTL": "60"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def status(client: httpx.Client, url: str, org: OrgKey) -> int:
    return client.post(f"{url}/openai/v1/chat/completions", headers=org.auth, json=CHAT).status_code


def revoke(store_url: str, key_id: str, *, role: str | None = None) -> float:
    """Revoke ``key_id`` (or give it ``role``); the time it was committed."""

    async def run() -> float:
        store = SqlStore(store_url)
        try:
            if role is None:
                assert await store.revoke_key(key_id)
            else:
                assert await store.set_key_role(key_id, role)
            return time.monotonic()
        finally:
            await store.close()

    return asyncio.run(run())


def manage(client: httpx.Client, url: str, org: OrgKey) -> int:
    """An admin-only call: 404 for an admin key (no such policy), 403 for a proxy key."""
    return client.delete(f"{url}/api/rate-limits/none", headers=org.bearer).status_code


def demoted_within_a_second(
    urls: list[str], org: OrgKey, store_url: str, client: httpx.Client | None = None
) -> None:
    with client or httpx.Client(timeout=5) as client:
        assert [manage(client, url, org) for url in urls] == [404] * len(urls)
        revoke(store_url, org.key_id, role="proxy")
        wait_until(
            lambda: [manage(client, url, org) for url in urls] == [403] * len(urls), timeout=1.0
        )


def refused_within_a_second(
    urls: list[str], org: OrgKey, store_url: str, client: httpx.Client | None = None
) -> float:
    with client or httpx.Client(timeout=5) as client:
        assert [status(client, url, org) for url in urls] == [200] * len(urls)
        # Cached now: without the watch, the key would work for another minute.
        assert [status(client, url, org) for url in urls] == [200] * len(urls)
        revoked_at = revoke(store_url, org.key_id)
        wait_until(
            lambda: [status(client, url, org) for url in urls] == [401] * len(urls), timeout=1.0
        )
        return time.monotonic() - revoked_at


def test_revocation_reaches_every_replica_on_postgres_within_a_second(replicas, fake):
    group = replicas(env=LONG_CACHE)
    org = create_org(group.store_url)
    demoted_within_a_second(group.urls, org, group.store_url)
    refused_within_a_second(group.urls, org, group.store_url)
    # The openai SDK sees the same refusal on both replicas.
    for url in group.urls:
        with (
            openai.OpenAI(
                base_url=f"{url}/openai/v1", api_key="sk-p", default_headers=org.auth, max_retries=0
            ) as client,
            pytest.raises(openai.AuthenticationError, match="revoked"),
        ):
            client.chat.completions.create(**CHAT)


def test_revocation_reaches_a_sqlite_gateway_within_a_second(tmp_path, fake_server, fake):
    env = {**fake_provider_env(fake_server.url), **LONG_CACHE}
    with AsgiGateway(tmp_path, env) as gateway:
        org = gateway.new_org()
        demoted_within_a_second([gateway.url], org, gateway.database_url, gateway.http())
        refused_within_a_second([gateway.url], org, gateway.database_url, gateway.http())
