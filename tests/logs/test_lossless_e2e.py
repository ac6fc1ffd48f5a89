"""Logging never loses a record and never slows a request: store outages, shutdown.

The store goes down the way each backend does: SQLite is locked by another
writer; Postgres goes away (the gateway reaches it through a TCP relay the test
cuts and restores).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import create_org
from relayscope.testing.outage import Outage
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.stores import stored_ids
from relayscope.testing.waiting import wait_until

# uvicorn re-raises SIGTERM after its graceful shutdown, so the process reports it.
GRACEFUL = (0, -signal.SIGTERM)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def outage(store_url: str) -> Iterator[Outage]:
    outage = Outage(store_url)
    yield outage
    outage.close()


def client(gateway: GatewayProcess | AsgiGateway, headers: dict[str, str]) -> httpx.Client:
    if isinstance(gateway, AsgiGateway):
        return gateway.http(headers)
    return httpx.Client(base_url=gateway.url, headers=headers, timeout=10)


def send(gateway: GatewayProcess | AsgiGateway, org, count: int, **headers: str) -> list[str]:
    ids = []
    with client(gateway, {**org.auth, **headers}) as c:
        for _ in range(count):
            response = c.post("/openai/v1/chat/completions", json=CHAT)
            assert response.status_code == 200
            ids.append(response.headers["helicone-id"])
    return ids


def test_store_outage_spools_then_replays_without_loss_or_slowdown(tmp_path, fake_server, outage):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": outage.gateway_url,
        "RELAYSCOPE_STORE_WRITE_TIMEOUT": "1",
    }
    # In this process: the spooling and the replay are the log writer's, not the server's.
    with AsgiGateway(tmp_path, env) as gateway:
        org = create_org(outage.store_url)
        send(gateway, org, 3)  # warm up the key cache and connections

        outage.down()
        try:
            ids, slowest = [], 0.0
            with gateway.http(org.auth) as api:
                for _ in range(40):
                    started = time.perf_counter()
                    response = api.post("/openai/v1/chat/completions", json=CHAT)
                    slowest = max(slowest, time.perf_counter() - started)
                    assert response.status_code == 200
                    ids.append(response.headers["helicone-id"])
            # Writes block for up to the write timeout; requests must not wait on them.
            assert slowest < 0.5, f"a request took {slowest:.3f}s while the store was down"
            spool = tmp_path / "spool"
            wait_until(lambda: list(spool.glob("*.jsonl")), timeout=10)
            assert not set(ids) & stored_ids(outage.store_url, org.org_id)
        finally:
            outage.up()

        wait_until(lambda: set(ids) <= stored_ids(outage.store_url, org.org_id), timeout=15)
        wait_until(lambda: not list((tmp_path / "spool").glob("*.jsonl")), timeout=10)
        assert len(stored_ids(outage.store_url, org.org_id)) == 43


@pytest.mark.e2e
def test_graceful_shutdown_drains_the_queue(tmp_path, fake_server, store_url):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_url,
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "60",
        "RELAYSCOPE_LOG_BATCH_SIZE": "100000",
    }
    gateway = GatewayProcess(tmp_path, env).start()
    try:
        org = create_org(store_url)
        ids = send(gateway, org, 25)
        assert not stored_ids(store_url, org.org_id), "records should still be queued"
    finally:
        assert gateway.stop() in GRACEFUL
    assert stored_ids(store_url, org.org_id) == set(ids)


@pytest.mark.e2e
def test_records_spooled_at_shutdown_are_replayed_by_the_next_process(
    tmp_path, fake_server, outage
):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": outage.gateway_url,
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "60",
        "RELAYSCOPE_LOG_BATCH_SIZE": "100000",
        "RELAYSCOPE_STORE_WRITE_TIMEOUT": "1",
    }
    first = GatewayProcess(tmp_path, env).start()
    org = create_org(outage.store_url)
    ids = send(first, org, 10)
    outage.down()
    try:
        assert first.stop() in GRACEFUL
    finally:
        outage.up()
    assert list((tmp_path / "spool").glob("*.jsonl")), "shutdown should have spooled"
    assert not stored_ids(outage.store_url, org.org_id)

    with GatewayProcess(tmp_path, env, port=first.port):
        wait_until(lambda: stored_ids(outage.store_url, org.org_id) == set(ids), timeout=15)
