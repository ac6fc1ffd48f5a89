"""One record the store cannot take never stops the writer, and is never dropped.

The writer runs against a real store (each backend). Records with values no column
holds (built here directly: what the store must never be handed, should any code
path hand it over) are found, kept as dead letters in the data directory, and every
other record is stored, then and afterwards. Spool lines that are not records are
kept the same way; a writer task that dies is restarted.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from relayscope import metrics
from relayscope.logs.spool import Spool
from relayscope.logs.writer import LogWriter
from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore
from relayscope.testing.waiting import async_wait_until


def record(org_id: str = "org-a", **fields: Any) -> LogRecord:
    return LogRecord(
        id=str(uuid.uuid4()),
        org_id=org_id,
        created_at=datetime.now(UTC),
        provider="openai",
        path="/v1/chat/completions",
        status=200,
        latency_ms=1.0,
        **fields,
    )


def dead_letters(data_dir: Path) -> list[dict[str, Any]]:
    """Every dead letter in the data directory, as a user reading the files sees them."""
    return [
        orjson.loads(line)
        for path in sorted((data_dir / "dead-letters").glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


@pytest.fixture
async def store(store_url):
    store = SqlStore(store_url)
    await store.migrate()
    yield store
    await store.close()


async def stored_ids(store: SqlStore, org_id: str) -> set[str]:
    page = await store.list_requests(org_id, _no_filter(), limit=1000, cursor=None)
    return {r.id for r in page.records}


def _no_filter():
    from relayscope.store.base import RequestFilter

    return RequestFilter()


REFUSED = [
    {"prompt_tokens": 18446744073709551615},
    {"completion_tokens": "5"},
    {"response_model": 42},
]


async def test_records_the_store_refuses_are_quarantined_and_every_other_one_stored(
    store, tmp_path
):
    writer = LogWriter(store, Spool(tmp_path / "spool"), flush_interval=0.01, batch_size=50)
    writer.start()
    good = [record("org-b") for _ in range(30)]
    bad = [record("org-a", **fields) for fields in REFUSED]
    for r in good[:15] + bad + good[15:]:
        writer.submit(lambda r=r: r)
    await writer.drain(timeout=20)

    later = [record("org-b") for _ in range(5)]
    for r in later:
        writer.submit(lambda r=r: r)
    await writer.drain(timeout=20)
    await writer.close()

    assert await stored_ids(store, "org-b") == {r.id for r in good + later}
    quarantined = dead_letters(tmp_path)
    assert sorted(e["record"]["id"] for e in quarantined) == sorted(r.id for r in bad)
    assert {e["org_id"] for e in quarantined} == {"org-a"}
    assert all(e["source"] == "store" and e["reason"] for e in quarantined)
    by_id = {e["record"]["id"]: e["record"] for e in quarantined}
    assert by_id[bad[0].id]["prompt_tokens"] == 18446744073709551615  # kept as it was
    assert writer.stats.quarantined == len(bad) and writer.stats.restarts == 0


async def test_an_unreadable_spool_line_is_quarantined_and_the_rest_replayed(store, tmp_path):
    """A malformed line used to kill the writer, and the same orphan file came back
    (and killed it again) on every restart: logging stopped for good."""
    spool = Spool(tmp_path / "spool")
    good = [record("org-b") for _ in range(6)]
    bad_row = record("org-a", prompt_tokens=18446744073709551615)
    path = spool.write([*good[:3], bad_row, *good[3:]])
    lines = path.read_bytes().splitlines()
    torn = b'{"id": "torn-line", "org_id": "org-a", "created_'
    path.write_bytes(b"\n".join([*lines[:2], b"not json at all", *lines[2:], torn]) + b"\n")
    orphan = path.with_suffix(".claimed-999999999")  # a process that died mid-replay
    path.rename(orphan)

    writer = LogWriter(store, spool, flush_interval=0.01, retry_interval=0.05)
    writer.start()

    async def replayed() -> bool:
        return await stored_ids(store, "org-b") == {r.id for r in good}

    await async_wait_until(replayed, timeout=10)
    after = record("org-b")
    writer.submit(lambda: after)
    await writer.drain(timeout=10)
    await writer.close()

    assert after.id in await stored_ids(store, "org-b")
    assert not list(spool.directory.iterdir())
    quarantined = dead_letters(tmp_path)
    assert sorted(e["line"][:8] for e in quarantined if "line" in e) == ["not json", '{"id": "']
    assert all(e["org_id"] is None for e in quarantined if "line" in e)  # no org to show
    assert [e["record"]["id"] for e in quarantined if "record" in e] == [bad_row.id]


MALFORMED_LINES = [
    b"[]",
    b"null",
    b"{}",
    b'{"created_at": 5}',
    b'{"created_at": "yesterday"}',
    b'{"id": "x", "org_id": "org-a", "created_at": "2026-01-01T00:00:00+00:00"}',
    b'{"id": 7, "org_id": ["org-a"], "created_at": "2026-01-01T00:00:00+00:00",'
    b' "provider": "openai", "path": "/v1", "status": "200", "latency_ms": "fast"}',
    b'{"id": "naive", "org_id": "org-a", "created_at": "2026-01-01T00:00:00",'
    b' "provider": "openai", "path": "/v1", "status": 200, "latency_ms": 1.0,'
    b' "properties": "not an object", "request_body": {"deep": [1, [2, [3]]]}}',
    b"\xff\xfe not utf-8",
    b"[" * 2000 + b"]" * 2000,
    b'{"id": "big", "created_at": "2026-01-01T00:00:00+00:00", "status": 1e999}',
]


@pytest.mark.parametrize("line", MALFORMED_LINES, ids=lambda line: repr(line[:30]))
async def test_no_spool_line_stops_the_writer(store, tmp_path, line):
    """Whatever one spool line holds, the writer keeps running (no restart needed),
    stores the file's good records and every record submitted afterwards, and leaves
    the spool empty: the line is a dead letter or a stored record, never a file
    handed back on every start."""
    spool = Spool(tmp_path / "spool")
    good = [record("org-b") for _ in range(4)]
    path = spool.write(good)
    lines = path.read_bytes().splitlines()
    path.write_bytes(b"\n".join([*lines[:2], line, *lines[2:]]) + b"\n")
    path.rename(path.with_suffix(".claimed-999999999"))  # left by a process that died

    writer = LogWriter(store, spool, flush_interval=0.01, retry_interval=0.05)
    writer.start()

    async def replayed() -> bool:
        return await stored_ids(store, "org-b") == {r.id for r in good}

    await async_wait_until(replayed, timeout=10)
    after = record("org-b")
    writer.submit(lambda: after)
    await writer.drain(timeout=10)
    await writer.close()
    assert after.id in await stored_ids(store, "org-b")
    assert writer.stats.restarts == 0
    assert not list(spool.directory.iterdir())


class LeakingStore:
    """The real store, but its next insert raises CancelledError although nothing
    cancelled the writer (as a library can leak one from a future it cancelled)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.leaks = 0

    async def insert_requests(self, records):
        if self.leaks:
            self.leaks -= 1
            raise asyncio.CancelledError()
        return await self.store.insert_requests(records)

    async def ping(self) -> None:
        await self.store.ping()


def restarts_metric() -> float:
    value = metrics.REGISTRY.get_sample_value("relayscope_log_writer_restarts_total")
    return value or 0.0


@pytest.mark.parametrize("crashes", [1, 2])
async def test_a_writer_that_dies_is_restarted_and_its_batch_is_kept(store, tmp_path, crashes):
    """Its batch goes to the spool; should it kill the writer again when replayed, it
    goes to the dead letters, so one batch can never stop logging for good."""
    leaking = LeakingStore(store)
    leaking.leaks = crashes
    writer = LogWriter(leaking, Spool(tmp_path / "spool"), flush_interval=0.01, retry_interval=0.05)
    restarts_before = restarts_metric()
    writer.start()
    first = [record("org-b") for _ in range(4)]
    for r in first:
        writer.submit(lambda r=r: r)

    async def leaked() -> bool:
        return leaking.leaks == 0

    await async_wait_until(leaked, timeout=10)
    then = [record("org-b") for _ in range(3)]
    for r in then:
        writer.submit(lambda r=r: r)
    await writer.drain(timeout=10)

    async def settled() -> bool:
        return not writer.spool.pending() and writer.problem() is None

    await async_wait_until(settled, timeout=10)
    await writer.close()
    assert writer.stats.restarts == crashes
    assert restarts_metric() - restarts_before == crashes
    stored = await stored_ids(store, "org-b")
    kept = {e["record"]["id"] for e in dead_letters(tmp_path)}
    assert {r.id for r in then} <= stored
    assert {r.id for r in first} <= stored | kept
    if crashes == 1:
        assert not kept
    else:
        assert kept == {r.id for r in first}
        assert all("crashed" in e["reason"] for e in dead_letters(tmp_path))
