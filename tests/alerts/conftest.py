"""Alert test helpers: stores on SQLite and Postgres, a controllable clock, seeding."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import delete

from relayscope.alerts.repository import AlertRepository
from relayscope.alerts.rules import parse_rule
from relayscope.alerts.service import AlertsService
from relayscope.alerts.settings import AlertsSettings
from relayscope.record import LogRecord
from relayscope.store.schema import (
    alert_channels,
    alert_events,
    alert_rules,
    leases,
    request_webhooks,
)
from relayscope.store.sql import SqlStore
from relayscope.testing.receiver import WebhookReceiver

START = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def record(org_id: str, at: datetime, **fields) -> LogRecord:
    values = {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "created_at": at,
        "provider": "openai",
        "path": "/openai/v1/chat/completions",
        "request_model": "gpt-4o-mini",
        "status": 200,
        "latency_ms": 100.0,
        "total_tokens": 10,
        "cost_usd": 0.001,
    }
    values.update(fields)
    return LogRecord(**values)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway Postgres database for this test session."""
    name = f"relayscope_alerts_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except OSError:
        pytest.skip("Postgres is not reachable on 127.0.0.1:5432")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/alerts.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def store(store_url) -> AsyncIterator[SqlStore]:
    store = SqlStore(store_url)
    await store.migrate()
    async with store.database.begin() as conn:
        # The Postgres database is shared by the session; every test's clock starts at START.
        for table in (leases, alert_rules, alert_channels, alert_events, request_webhooks):
            await conn.execute(delete(table))
    yield store
    await store.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def make_settings(**overrides) -> AlertsSettings:
    values = {
        "allow_private_targets": True,
        "delivery_backoff": 0.05,
        "delivery_attempts": 4,
        "delivery_timeout": 5.0,
        **overrides,
    }
    return AlertsSettings(**values)


class Harness:
    """An org, an alerts service on the fake clock, and helpers to seed and evaluate."""

    def __init__(self, store: SqlStore, clock: FakeClock, service: AlertsService) -> None:
        self.store = store
        self.clock = clock
        self.service = service
        self.repo: AlertRepository = service.repository
        self.org_id = str(uuid.uuid4())

    async def seed(self, count: int = 1, *, ago: float = 1.0, **fields) -> list[LogRecord]:
        """``count`` records ``ago`` seconds before now (spread over the following 0.5 s)."""
        at = self.clock() - timedelta(seconds=ago)
        made = [
            record(self.org_id, at + timedelta(milliseconds=i * 500 / max(count, 1)), **fields)
            for i in range(count)
        ]
        await self.store.insert_requests(made)
        return made

    async def seed_each(self, field: str, values: list, *, ago: float = 1.0) -> None:
        """One record per value of ``field``."""
        at = self.clock() - timedelta(seconds=ago)
        await self.store.insert_requests([record(self.org_id, at, **{field: v}) for v in values])

    async def webhook(self, url: str, secret: str = "s" * 32, name: str = "hook") -> str:
        channel = await self.repo.create_channel(
            self.org_id, name, "webhook", {"url": url, "secret": secret}
        )
        return channel.id

    async def rule(self, **definition):
        definition.setdefault("name", f"rule-{definition['metric']}")
        return await self.repo.create_rule(self.org_id, parse_rule(definition))

    async def tick(self) -> list:
        """Evaluate now; the history events it produced (oldest first)."""
        before = {e.id for e in await self.events()}
        assert await self.service.evaluator.tick(), "the evaluator should own this tick"
        await self.service.evaluator.drain(10)
        return [e for e in reversed(await self.events()) if e.id not in before]

    async def events(self, rule_id: str | None = None) -> list:
        events, _ = await self.repo.list_events(
            self.org_id, rule_id=rule_id, limit=500, cursor=None
        )
        return events


@pytest.fixture
async def harness(store, clock) -> AsyncIterator[Harness]:
    service = AlertsService(make_settings(interval=60.0), store.database, clock=clock)
    yield Harness(store, clock, service)
    await service.stop()
