"""``RELAYSCOPE_LOG_QUEUE_MAX``: when more records wait in memory than that, they go
to the on-disk spool (and from there to the store), instead of growing the queue.

In-process: the store takes its first batch only when the test lets it, so the
proxied requests pile up behind it; every answered request is then found by id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from relayscope.logs.spool import Spool
from relayscope.record import LogRecord
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import running_gateway

CHAT = "/openai/v1/chat/completions"
QUESTION = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
REQUESTS = 40
BATCH = 5


class HeldStore:
    """The gateway's log store, whose inserts wait until ``release``; counts batches."""

    def __init__(self, store: object) -> None:
        self.store = store
        self.released = asyncio.Event()
        self.waiting = asyncio.Event()

    async def insert_requests(self, records: Sequence[LogRecord]) -> int:
        self.waiting.set()
        await self.released.wait()
        return await self.store.insert_requests(records)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


class CountingSpool(Spool):
    def __init__(self, spool: Spool) -> None:
        super().__init__(spool.directory)
        self.written: list[int] = []

    def write(self, records: list[LogRecord]):  # type: ignore[no-untyped-def]
        self.written.append(len(records))
        return super().write(records)


@pytest.mark.parametrize(("queue_max", "spills"), [(10, True), (1000, False)])
async def test_records_past_the_queue_limit_go_to_the_spool(
    tmp_path, fake: FakeProvider, queue_max, spills
):
    settings = {"log_queue_max": queue_max, "log_batch_size": BATCH, "store_write_timeout": 60}
    async with running_gateway(tmp_path, fake.url, **settings) as gw:
        writer = gw.gateway.writer
        held = HeldStore(writer.store)
        writer.store = held  # type: ignore[assignment]
        spool = writer.spool = CountingSpool(writer.spool)
        first = await gw.client.post(CHAT, json=QUESTION)
        await asyncio.wait_for(held.waiting.wait(), 30)  # the writer holds one batch
        rest = await asyncio.gather(*(gw.client.post(CHAT, json=QUESTION) for _ in range(39)))
        answered = [r.headers["helicone-id"] for r in [first, *rest] if r.status_code == 200]
        assert len(answered) == REQUESTS
        assert writer.queue_depth == REQUESTS - 1  # all but the held batch's one
        held.released.set()
        for request_id in answered:  # each answered request is stored, by id
            await gw.record(request_id)
        if spills:
            assert spool.written == [REQUESTS - 1], "the whole backlog spilled at once"
            assert writer.stats.spooled == REQUESTS - 1
            assert writer.stats.replayed == REQUESTS - 1
        else:
            assert spool.written == [] and writer.stats.spooled == 0
        assert not list(spool.pending())
