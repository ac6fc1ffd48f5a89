"""Dead letters seen as a user sees them (API, CLI, /metrics), and a failing log
writer seen as a load balancer and Prometheus see it (/readyz, /metrics).

The gateway runs in-process on a real store (each backend), proxying to the fake
provider. Its spool holds, before it starts, what a crashed process could leave:
records, a record the store cannot take, and lines that are not records.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner

from relayscope.cli import main
from relayscope.config import Settings
from relayscope.gateway import Gateway, build_gateway
from relayscope.logs.spool import Spool
from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import async_wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def record(org_id: str, **fields: Any) -> LogRecord:
    return LogRecord(
        id=str(uuid.uuid4()),
        org_id=org_id,
        created_at=datetime.now(UTC),
        provider="openai",
        path="/v1/chat/completions",
        status=200,
        latency_ms=1.0,
        request_body='{"messages": "<redacted>"}',
        **fields,
    )


def env(fake: FakeProvider, store_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **fake_provider_env(fake.url),
        "RELAYSCOPE_DATABASE_URL": store_url,
        "RELAYSCOPE_DATA_DIR": str(data_dir),
    }


@pytest.fixture
async def orgs(store_url: str) -> tuple[OrgKey, OrgKey]:
    store = SqlStore(store_url)
    await store.migrate()
    await store.close()
    first = await asyncio.to_thread(create_org, store_url)
    second = await asyncio.to_thread(create_org, store_url)
    return first, second


@pytest.fixture
async def gateway(fake, store_url, tmp_path, orgs) -> AsyncIterator[Gateway]:
    first, second = orgs
    spool = Spool(tmp_path / "spool")
    spool.write(
        [
            record(first.org_id),
            record(first.org_id, prompt_tokens=18446744073709551615),
            record(second.org_id, response_model={"name": "x"}),
        ]
    )
    path = spool.pending()[0]
    path.write_bytes(path.read_bytes() + b'{"org_id": "' + first.org_id.encode() + b'", "id": 1}\n')
    async with build_gateway(Settings.from_env(env(fake, store_url, tmp_path))) as gateway:
        yield gateway


def client(gateway: Gateway, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway), base_url="http://gateway", headers=headers
    )


async def test_each_org_sees_its_own_dead_letters_by_api_and_cli(
    gateway, orgs, store_url, tmp_path
):
    first, second = orgs
    async with client(gateway, first.bearer) as api, client(gateway, second.bearer) as other:

        async def quarantined() -> list[dict[str, Any]]:
            response = await api.get("/api/dead-letters")
            data = response.json()["data"] if response.status_code == 200 else []
            return data if len(data) == 2 else []

        mine = await async_wait_until(quarantined, timeout=10)
        assert {e["org_id"] for e in mine} == {first.org_id}
        assert {e["source"] for e in mine} == {"store", "spool"}
        refused = next(e for e in mine if e["source"] == "store")
        assert refused["record"]["prompt_tokens"] == 18446744073709551615
        assert refused["record"]["request_body"] == '{"messages": "<redacted>"}'
        assert "OverflowError" in refused["reason"]

        theirs = (await other.get("/api/dead-letters")).json()["data"]
        assert [e["record"]["response_model"] for e in theirs] == [{"name": "x"}]
        assert (await other.get("/api/dead-letters?limit=0")).status_code == 400
        async with client(gateway) as anonymous:
            assert (await anonymous.get("/api/dead-letters")).status_code == 401

        listed = (await api.get("/api/requests")).json()["data"]
        assert len(listed) == 1  # the good record of the same spool file was stored

        scrape = (await api.get("/metrics")).text
        assert "relayscope_log_dead_letters 3.0" in scrape

    runner = CliRunner()
    cli_env = {"RELAYSCOPE_DATA_DIR": str(tmp_path), "RELAYSCOPE_DATABASE_URL": store_url}
    everything = await asyncio.to_thread(
        runner.invoke, main, ["logs", "dead-letters", "--json"], env=cli_env
    )
    assert everything.exit_code == 0, everything.output
    assert len(everything.output.splitlines()) == 3
    first_only = await asyncio.to_thread(
        runner.invoke, main, ["logs", "dead-letters", "--org", first.name], env=cli_env
    )
    assert first_only.exit_code == 0, first_only.output
    lines = first_only.output.splitlines()
    assert len(lines) == 2 and all(first.org_id in line for line in lines)
    assert any("OverflowError" in line for line in lines)
    assert [orjson.loads(line)["org_id"] for line in everything.output.splitlines()].count(
        None
    ) == 0


class StuckStore:
    """The gateway's real store, but inserts hang, or raise a stray CancelledError,
    while told to."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.hang = asyncio.Event()
        self.leak = False
        self.free = asyncio.Event()
        self.free.set()

    async def insert_requests(self, records):
        if self.leak:
            raise asyncio.CancelledError()
        await self.free.wait()
        return await self.store.insert_requests(records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def readiness(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await http.get("/readyz")
    return response.status_code, response.json()


async def test_readyz_and_metrics_report_a_stalled_then_a_crashing_writer(gateway, orgs):
    first, _ = orgs
    writer = gateway.writer
    stuck = StuckStore(writer.store)
    writer.store = stuck
    writer.write_timeout, writer.stall_after, writer.retry_interval = 60, 0.5, 0.05
    async with client(gateway, first.auth) as http:
        assert (await readiness(http))[0] == 200

        stuck.free.clear()
        sent = await http.post("/openai/v1/chat/completions", json=CHAT)
        assert sent.status_code == 200

        async def stalled() -> dict[str, Any] | None:
            status, body = await readiness(http)
            return body if status == 503 else None

        body = await async_wait_until(stalled, timeout=10)
        assert body["status"] == "log_writer_failing" and "stalled" in body["reason"]
        scrape = (await http.get("/metrics")).text
        assert "relayscope_log_queue_depth 1.0" in scrape
        since = next(
            line
            for line in scrape.splitlines()
            if line.startswith("relayscope_log_seconds_since_last_stored_batch ")
        )
        assert float(since.split()[1]) >= 0.5

        stuck.free.set()

        async def ready_again() -> bool:
            return (await readiness(http))[0] == 200

        await async_wait_until(ready_again, timeout=10)

        stuck.leak = True
        await http.post("/openai/v1/chat/completions", json=CHAT)

        async def crashing() -> dict[str, Any] | None:
            status, body = await readiness(http)
            return body if status == 503 and "crashed" in body["reason"] else None

        body = await async_wait_until(crashing, timeout=10)
        assert "CancelledError" in body["reason"]
        scrape = (await http.get("/metrics")).text
        assert "relayscope_log_writer_restarts_total" in scrape

        stuck.leak = False
        await async_wait_until(ready_again, timeout=10)
        async with client(gateway, first.bearer) as api:

            async def both_logged() -> bool:
                listed = (await api.get("/api/requests")).json()["data"]
                return len(listed) >= 3  # the spooled one, and the two sent here

            await async_wait_until(both_logged, timeout=10)
