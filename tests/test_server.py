"""Liveness, readiness and draining of a gateway process."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.stores import stored_ids
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_ready_and_live_once_started(gateway):
    ready = httpx.get(f"{gateway.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "pid": ready.json()["pid"]}
    assert ready.json()["pid"] != os.getpid()
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}


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
