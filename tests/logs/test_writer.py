"""The log writer against a real store (each backend) that fails on demand."""

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


class FlakyStore:
    """The real store, but writes fail (or hang) while ``down`` is set."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.down = False
        self.hang = False

    async def insert_requests(self, records):
        if self.hang:
            await asyncio.sleep(3600)
        if self.down:
            raise StoreUnavailable("store is down")
        return await self.store.insert_requests(records)


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


@pytest.fixture
async def store(store_url):
    store = SqlStore(store_url)
    await store.migrate()
    yield store
    await store.close()


async def test_batches_are_written_and_drain_waits(store, tmp_path):
    writer = LogWriter(store, Spool(tmp_path / "spool"), flush_interval=10, batch_size=1000)
    writer.start()
    for _ in range(50):
        writer.submit(record)
    await writer.drain(timeout=5)
    assert await store.count_requests() == 50
    await writer.close()


@pytest.mark.parametrize("failure", ["down", "hang"])
async def test_outage_spools_and_replays_every_record_once(store, tmp_path, failure):
    flaky = FlakyStore(store)
    spool = Spool(tmp_path / "spool")
    writer = LogWriter(flaky, spool, flush_interval=0.01, write_timeout=0.2, retry_interval=0.05)
    writer.start()
    setattr(flaky, failure, True)
    made = [record() for _ in range(30)]
    for r in made:
        writer.submit(lambda r=r: r)
    await writer.drain(timeout=5)
    assert spool.pending() and await store.count_requests() == 0
    setattr(flaky, failure, False)

    async def all_stored():
        return await store.count_requests() == 30 and not spool.pending()

    await async_wait_until(all_stored, timeout=10)
    await writer.close()
    assert writer.stats.spooled == 30 and writer.stats.replayed == 30


class CommitsThenHangs:
    """The real store, but while ``hang`` is set a write commits and then never answers:
    the writer times out and spools records that are in fact stored."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.hang = True

    async def insert_requests(self, records):
        added = await self.store.insert_requests(records)
        if self.hang:
            await asyncio.sleep(3600)
        return added


async def test_a_stored_write_replayed_is_kept_once_and_a_reused_id_twice(store, tmp_path):
    """The spool replays records the store took: each is stored once. Two requests
    that sent the same Helicone-Request-Id are two records, not one replayed."""
    shared = str(uuid.uuid4())
    first, second = record(), record()
    for made in (first, second):
        made.record_uid = made.id
        made.id = shared
    hanging = CommitsThenHangs(store)
    spool = Spool(tmp_path / "spool")
    writer = LogWriter(hanging, spool, flush_interval=0.01, write_timeout=0.2, retry_interval=0.05)
    writer.start()
    writer.submit(lambda: first)
    writer.submit(lambda: second)
    await writer.drain(timeout=5)
    assert writer.stats.spooled == 2 and await store.count_requests() == 2
    hanging.hang = False

    async def replayed() -> bool:
        return writer.stats.replayed == 2 and not spool.pending()

    await async_wait_until(replayed, timeout=10)
    await writer.close()
    assert await store.count_requests() == 2
    assert (await store.get_request("o", shared)).record_uid == first.record_uid
    renamed = await store.get_request("o", second.record_uid)
    assert renamed is not None and renamed.warnings and shared in renamed.warnings[0]


async def test_a_record_that_fails_to_build_does_not_stop_the_rest(store, tmp_path):
    writer = LogWriter(store, Spool(tmp_path / "spool"), flush_interval=0.01)
    writer.start()
    writer.submit(lambda: 1 / 0)
    writer.submit(record)
    await writer.drain(timeout=5)
    await writer.close()
    assert await store.count_requests() == 1 and writer.stats.failed_builds == 1


async def test_close_spools_what_the_store_cannot_take(store, tmp_path):
    flaky = FlakyStore(store)
    flaky.down = True
    spool = Spool(tmp_path / "spool")
    writer = LogWriter(flaky, spool, flush_interval=60, write_timeout=0.2)
    writer.start()
    for _ in range(5):
        writer.submit(record)
    await writer.close()
    assert sum(len(Spool.read(p)) for p in spool.pending()) == 5


async def test_store_and_disk_both_failing_holds_records_until_one_recovers(store, tmp_path):
    flaky = FlakyStore(store)
    flaky.down = True
    blocked = tmp_path / "spool"
    blocked.write_text("a file where the spool directory should be")  # mkdir will fail
    writer = LogWriter(
        flaky, Spool(blocked), flush_interval=0.01, write_timeout=0.2, retry_interval=0.05
    )
    writer.start()
    for _ in range(12):
        writer.submit(record)

    async def held() -> bool:
        return writer.stats.spool_errors > 0 and writer.queue_depth == 12

    await async_wait_until(held, timeout=5)
    flaky.down = False

    async def stored() -> bool:
        return await store.count_requests() == 12 and writer.queue_depth == 0

    await async_wait_until(stored, timeout=10)
    await writer.close()
    assert await store.count_requests() == 12


async def test_the_spool_is_replayed_while_traffic_never_pauses(store, tmp_path):
    """Under sustained traffic the queue never empties; the spool must not wait for a lull."""
    flaky = FlakyStore(store)
    spool = Spool(tmp_path / "spool")
    writer = LogWriter(
        flaky, spool, flush_interval=0.01, batch_size=5, write_timeout=0.2, retry_interval=0.05
    )
    stats = writer.stats
    stop = asyncio.Event()

    async def traffic() -> None:
        """Keeps about fifty records waiting, through the outage and after it."""
        while not stop.is_set():
            if stats.submitted - stats.written - stats.spooled < 50:
                for _ in range(5):
                    writer.submit(record)
            await asyncio.sleep(0)

    writer.start()
    flaky.down = True
    pump = asyncio.create_task(traffic())
    try:
        await async_wait_until(lambda: _now(len(spool.pending()) >= 3))
        flaky.down = False
        await async_wait_until(lambda: _now(stats.store_healthy and not spool.pending()))
    finally:
        stop.set()
        await pump
    await writer.drain(timeout=10)
    assert await store.count_requests() == stats.submitted
    await writer.close()


async def _now(value: bool) -> bool:
    return value
