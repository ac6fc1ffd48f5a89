"""Liveness, readiness and draining of a gateway process."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from relayscope.cache.settings import CacheSettings
from relayscope.config import Settings
from relayscope.server import ServedGateway
from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.stores import stored_ids
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_ready_and_live_once_started(gateway_process):
    gateway = gateway_process
    ready = httpx.get(f"{gateway.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "pid": ready.json()["pid"]}
    assert ready.json()["pid"] != os.getpid()
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}


async def test_before_its_lifespan_starts_it_the_served_app_is_live_but_not_ready(tmp_path):
    app = ServedGateway(Settings(data_dir=tmp_path))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()["status"]) == (503, "starting")
        proxied = await client.post("/openai/v1/chat/completions", json=CHAT)
        assert proxied.status_code == 503


async def test_a_gateway_that_cannot_start_fails_the_lifespan_with_the_reason(tmp_path):
    app = ServedGateway(Settings(data_dir=tmp_path, cache=CacheSettings(backend="redis")))
    received = [{"type": "lifespan.startup"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return received.pop()

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert sent == [
        {
            "type": "lifespan.startup.failed",
            "message": "RELAYSCOPE_CACHE_BACKEND=redis needs RELAYSCOPE_REDIS_URL",
        }
    ]


@pytest.mark.e2e
def test_sigterm_turns_readiness_off_while_requests_still_succeed(tmp_path, fake_server, store_url):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_url,
        "RELAYSCOPE_SHUTDOWN_DRAIN_SECONDS": "3",
    }
    gateway = GatewayProcess(tmp_path, env).start()
    org = create_org(store_url)
    with httpx.Client(base_url=gateway.url, headers=org.auth, timeout=10) as client:
        assert client.get("/readyz").status_code == 200
        signalled = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        draining = wait_until(lambda: client.get("/readyz").status_code == 503, timeout=2)
        assert draining and client.get("/readyz").json()["status"] == "draining"
        assert client.get("/healthz").status_code == 200, "still alive while draining"
        # New connections are still accepted and served until the drain period ends.
        response = httpx.post(
            f"{gateway.url}/openai/v1/chat/completions", headers=org.auth, json=CHAT
        )
        assert response.status_code == 200
    assert gateway.process.wait(15) in (0, -signal.SIGTERM)
    assert time.monotonic() - signalled >= 3, "shut down before the drain period"
    assert response.headers["helicone-id"] in stored_ids(store_url, org.org_id)
