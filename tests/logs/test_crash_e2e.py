"""A gateway killed with SIGKILL under load loses no record a client got a 2xx for.

100 clients send requests (a quarter of them streamed) for a few seconds; the
gateway is killed mid-load. Every request whose client received the whole 2xx
response (the full body, or the stream's end) must be in the store once the
gateway is restarted on the same data directory and store, exactly once, and
counted exactly once by the analytics rollups.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import pytest
from sqlalchemy import func, select

from relayscope.store.schema import request_rollups, requests
from relayscope.store.sql import SqlStore
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.postgres import run_sync
from relayscope.testing.process import GatewayProcess, fake_provider_env, requests_by_worker
from relayscope.testing.waiting import wait_until

GRACEFUL = (0, -signal.SIGTERM)
CLIENTS = 100
LOAD_SECONDS = 3.5
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi there"}]}


async def _client(
    client: httpx.AsyncClient, number: int, received: list[str], stop: asyncio.Event
) -> None:
    sent = 0
    while not stop.is_set():
        sent += 1
        streamed = (number + sent) % 4 == 0
        try:
            if streamed:
                body = {**CHAT, "stream": True}
                async with client.stream("POST", "/openai/v1/chat/completions", json=body) as r:
                    async for _ in r.aiter_bytes():
                        pass
            else:
                r = await client.post("/openai/v1/chat/completions", json=CHAT)
        except httpx.HTTPError:
            continue  # the gateway died: this response was not received
        if 200 <= r.status_code < 300:
            received.append(r.headers["helicone-id"])


async def _load_then_kill(gateway: GatewayProcess, org: OrgKey) -> list[str]:
    """Ids of every 2xx response received in full before and while the gateway died."""
    received: list[str] = []
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=gateway.url, headers=org.auth, timeout=10, limits=limits
    ) as client:
        tasks = [_client(client, n, received, stop) for n in range(CLIENTS)]
        load = asyncio.gather(*tasks)
        await asyncio.sleep(LOAD_SECONDS)
        assert gateway.process is not None
        gateway.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(gateway.process.wait, 10)
        stop.set()  # requests in flight fail on the closed connections; none is cancelled
        await load
    return received


def _stored(database_url: str, org_id: str) -> tuple[dict[str, int], int]:
    """How many rows each id has, and how many requests the rollups counted."""

    async def work() -> tuple[dict[str, int], int]:
        store = SqlStore(database_url, pool_size=1)
        try:
            by_id = (
                select(requests.c.id, func.count())
                .where(requests.c.org_id == org_id)
                .group_by(requests.c.id)
            )
            rolled = select(func.coalesce(func.sum(request_rollups.c.requests), 0)).where(
                request_rollups.c.org_id == org_id, request_rollups.c.dim == ""
            )
            async with store.database.connect() as conn:
                counts = {row[0]: row[1] for row in await conn.execute(by_id)}
                return counts, int((await conn.execute(rolled)).scalar_one())
        finally:
            await store.close()

    return run_sync(work())


@pytest.mark.e2e
def test_sigkill_under_load_loses_no_acknowledged_record(tmp_path, fake_server, store_url):
    restart_env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": store_url}
    env = {
        **restart_env,
        # A batch every 40 records and never by time: when the kill comes, some
        # records are stored and up to 39 wait in memory, however slow the machine.
        "RELAYSCOPE_LOG_BATCH_SIZE": "40",
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "60",
    }
    first = GatewayProcess(tmp_path, env).start(timeout=90)
    org = create_org(store_url)
    started = time.monotonic()
    received = asyncio.run(_load_then_kill(first, org))
    assert first.process is not None and first.process.returncode == -signal.SIGKILL
    assert len(received) > 50, f"only {len(received)} responses in {time.monotonic() - started}s"
    assert len(set(received)) == len(received)

    # Generous start-up timeouts: the test machine may be loaded.
    second = GatewayProcess(tmp_path, restart_env, port=first.port).start(timeout=90)
    try:

        def all_stored() -> bool:
            counts, _ = _stored(store_url, org.org_id)
            return set(received) <= counts.keys()

        try:
            wait_until(all_stored, timeout=20, interval=0.25)
        except AssertionError:
            counts, _ = _stored(store_url, org.org_id)
            lost = set(received) - counts.keys()
            pytest.fail(f"{len(lost)} of {len(received)} acknowledged records were lost")
        counts, rolled_up = _stored(store_url, org.org_id)
    finally:
        second.stop()

    twice = {request_id: n for request_id, n in counts.items() if n != 1}
    assert not twice, f"stored more than once: {twice}"
    assert rolled_up == len(counts), "the rollups counted a replayed record twice"


@pytest.mark.e2e
def test_a_killed_workers_records_are_stored_by_its_replacement_alone(
    tmp_path, fake_server, store_url
):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_url,
        # Every record waits in memory until shutdown.
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "60",
        "RELAYSCOPE_LOG_BATCH_SIZE": "100000",
    }
    gateway = GatewayProcess(tmp_path, env, workers=2).start(timeout=90)
    try:
        org = create_org(store_url)
        by_pid = requests_by_worker(gateway, org.auth, per_worker=5, timeout=60)
        killed = next(iter(by_pid))
        os.kill(killed, signal.SIGKILL)
        # uvicorn starts a new worker; it takes over the killed worker's journal and
        # only that one: the survivor, alive, holds the lock on its own.
        replayed = f"replaying {len(by_pid[killed])} log records from the journals of 1 "
        wait_until(lambda: replayed in gateway.log(), timeout=90, interval=0.2)
    finally:
        assert gateway.stop() in GRACEFUL  # the survivor and the new worker drain
    assert gateway.log().count("replaying") == 1
    counts, rolled_up = _stored(store_url, org.org_id)
    sent = {request_id for ids in by_pid.values() for request_id in ids}
    assert counts == dict.fromkeys(sent, 1)
    assert rolled_up == len(sent)
