"""Logging never loses a record and never slows a request: store outages, shutdown."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import httpx

from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.waiting import wait_until

# uvicorn re-raises SIGTERM after its graceful shutdown, so the process reports it.
GRACEFUL = (0, -signal.SIGTERM)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def db_path(process: GatewayProcess) -> Path:
    return Path(process.database_url.removeprefix("sqlite:///"))


def stored_ids(process: GatewayProcess, org_id: str) -> set[str]:
    with sqlite3.connect(db_path(process)) as conn:
        rows = conn.execute("SELECT id FROM requests WHERE org_id = ?", (org_id,)).fetchall()
    return {row[0] for row in rows}


def send(process: GatewayProcess, org, count: int, **headers: str) -> list[str]:
    ids = []
    with httpx.Client(base_url=process.url, headers={**org.auth, **headers}, timeout=10) as c:
        for _ in range(count):
            response = c.post("/openai/v1/chat/completions", json=CHAT)
            assert response.status_code == 200
            ids.append(response.headers["helicone-id"])
    return ids


def test_store_outage_spools_then_replays_without_loss_or_slowdown(tmp_path, fake_server):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_STORE_WRITE_TIMEOUT": "1"}
    with GatewayProcess(tmp_path, env) as gateway:
        org = create_org(gateway.database_url)
        send(gateway, org, 3)  # warm up the key cache and connections

        blocker = sqlite3.connect(db_path(gateway), isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # the store refuses every write from now on
        try:
            ids, slowest = [], 0.0
            with httpx.Client(base_url=gateway.url, headers=org.auth, timeout=10) as client:
                for _ in range(40):
                    started = time.perf_counter()
                    response = client.post("/openai/v1/chat/completions", json=CHAT)
                    slowest = max(slowest, time.perf_counter() - started)
                    assert response.status_code == 200
                    ids.append(response.headers["helicone-id"])
            # Writes block for up to the 2 s busy timeout; requests must not wait on them.
            assert slowest < 0.5, f"a request took {slowest:.3f}s while the store was down"
            spool = tmp_path / "spool"
            wait_until(lambda: list(spool.glob("*.jsonl")), timeout=10)
            assert not set(ids) & stored_ids(gateway, org.org_id)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

        wait_until(lambda: set(ids) <= stored_ids(gateway, org.org_id), timeout=15)
        wait_until(lambda: not list((tmp_path / "spool").glob("*.jsonl")), timeout=10)
        assert len(stored_ids(gateway, org.org_id)) == 43


def test_graceful_shutdown_drains_the_queue(tmp_path, fake_server):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "60",
        "RELAYSCOPE_LOG_BATCH_SIZE": "100000",
    }
    gateway = GatewayProcess(tmp_path, env).start()
    try:
        org = create_org(gateway.database_url)
        ids = send(gateway, org, 25)
        assert not stored_ids(gateway, org.org_id), "records should still be queued"
    finally:
        assert gateway.stop() in GRACEFUL
    assert stored_ids(gateway, org.org_id) == set(ids)


def test_records_spooled_at_shutdown_are_replayed_by_the_next_process(tmp_path, fake_server):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "60",
        "RELAYSCOPE_LOG_BATCH_SIZE": "100000",
        "RELAYSCOPE_STORE_WRITE_TIMEOUT": "1",
    }
    first = GatewayProcess(tmp_path, env).start()
    org = create_org(first.database_url)
    ids = send(first, org, 10)
    blocker = sqlite3.connect(db_path(first), isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert first.stop() in GRACEFUL
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert list((tmp_path / "spool").glob("*.jsonl")), "shutdown should have spooled"
    assert not stored_ids(first, org.org_id)

    with GatewayProcess(tmp_path, env, port=first.port) as second:
        wait_until(lambda: stored_ids(second, org.org_id) == set(ids), timeout=15)
