"""LogWriter post-write hooks: every stored batch reaches them (replays too), in the
background, and a slow hook never holds up writes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from relayscope.logs.spool import Spool
from relayscope.logs.writer import LogWriter
from relayscope.record import LogRecord
from relayscope.store.base import StoreUnavailable
from relayscope.store.sql import SqlStore
from relayscope.testing.waiting import async_wait_until


def record() -> LogRecord:
    return LogRecord(
        id=str(uuid.uuid4()),
        org_id="o",
        created_at=datetime.now(UTC),
        provider="openai",
        path="/v1/x",
        status=200,
        latency_ms=1.0,
    )


class DownStore:
    """The real store, refusing writes while ``down``."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.down = False

    async def insert_requests(self, records):
        if self.down:
            raise StoreUnavailable("store is down")
        await self.store.insert_requests(records)


@pytest.fixture
async def store(tmp_path):
    store = SqlStore(f"sqlite:///{tmp_path}/s.db")
    await store.migrate()
    yield store
    await store.close()


async def test_hooks_see_stored_and_replayed_records_once(store, tmp_path):
    flaky = DownStore(store)
    writer = LogWriter(flaky, Spool(tmp_path / "spool"), flush_interval=0.01, retry_interval=0.05)
    seen: list[str] = []

    async def hook(records: list[LogRecord]) -> None:
        seen.extend(r.id for r in records)

    writer.add_hook(hook)
    writer.start()
    stored = [record() for _ in range(5)]
    for r in stored:
        writer.submit(lambda r=r: r)
    await writer.drain(timeout=5)
    flaky.down = True
    spooled = [record() for _ in range(5)]
    for r in spooled:
        writer.submit(lambda r=r: r)
    await writer.drain(timeout=5)
    assert sorted(seen) == sorted(r.id for r in stored), "spooled records are not stored yet"
    flaky.down = False

    async def everything_seen():
        return len(seen) == 10

    await async_wait_until(everything_seen, timeout=5)
    assert sorted(seen) == sorted(r.id for r in stored + spooled)
    await writer.close()


async def test_a_stuck_hook_never_delays_writes_and_overflow_is_counted(store, tmp_path):
    writer = LogWriter(
        store, Spool(tmp_path / "spool"), flush_interval=0.01, batch_size=10, hook_queue_max=2
    )
    release = asyncio.Event()
    calls = 0

    async def stuck(records: list[LogRecord]) -> None:
        nonlocal calls
        calls += 1
        await release.wait()

    writer.add_hook(stuck)
    writer.start()
    for _ in range(5):
        for _ in range(10):
            writer.submit(record)
        await writer.drain(timeout=5)
    assert await store.count_requests() == 50
    # One batch is held by the stuck hook, two wait in the queue, the others were dropped.
    assert writer.stats.hook_dropped == 20
    release.set()
    await writer.close(timeout=5)
    assert calls == 3


async def test_a_failing_hook_does_not_stop_the_next(store, tmp_path, caplog):
    writer = LogWriter(store, Spool(tmp_path / "spool"), flush_interval=0.01)
    seen: list[int] = []

    async def broken(records: list[LogRecord]) -> None:
        raise RuntimeError("receiver exploded")

    async def counting(records: list[LogRecord]) -> None:
        seen.append(len(records))

    writer.add_hook(broken)
    writer.add_hook(counting)
    writer.start()
    writer.submit(record)
    await writer.drain(timeout=5)

    async def counted():
        return seen == [1]

    await async_wait_until(counted, timeout=5)
    assert "receiver exploded" in caplog.text
    await writer.close()
