"""The parts request webhooks and live evaluation share: per-org lists cached with the
last list kept when a load fails, and a bounded queue of worker tasks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from relayscope.background import OrgLists, WorkQueue

log = logging.getLogger("tests.background")


async def test_org_lists_are_cached_and_survive_a_failed_load():
    loads: list[list[tuple[str, str]] | Exception] = [
        [("a", "hook-1"), ("b", "hook-2"), ("a", "hook-3")],
        RuntimeError("store down"),
        [("b", "hook-4")],
    ]

    async def load() -> list[tuple[str, str]]:
        outcome = loads.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    lists = OrgLists(load, lambda item: item[0], ttl=3600, what="hooks", log=log)
    first = await lists.get()
    assert first == {"a": [("a", "hook-1"), ("a", "hook-3")], "b": [("b", "hook-2")]}
    assert await lists.get() is first and len(loads) == 2, "cached within the ttl"
    lists.invalidate()
    assert await lists.get() == first, "a failed load keeps the last list"
    lists.invalidate()
    assert await lists.get() == {"b": [("b", "hook-4")]}


async def test_a_full_queue_refuses_and_a_failing_job_does_not_stop_its_worker(caplog):
    release = asyncio.Event()
    done: list[int] = []

    async def work(job: int) -> None:
        await release.wait()
        if job == 1:
            raise ValueError("job 1 breaks")
        done.append(job)

    queue: WorkQueue[int] = WorkQueue(
        work, size=2, workers=1, name="test-queue", what="test jobs", log=log
    )
    queue.start()
    try:
        assert queue.put(1)
        while queue.depth:  # until the worker has taken job 1 (and waits in it)
            await asyncio.sleep(0)
        assert queue.put(2) and queue.put(3)
        assert not queue.put(4) and queue.dropped == 1
        assert queue.depth == 2
        release.set()
        with caplog.at_level(logging.ERROR, logger="tests.background"):
            await queue.drain(timeout=5)
        assert done == [2, 3]
        assert "one of the test jobs failed" in caplog.text
    finally:
        await queue.stop(timeout=1)


async def test_stop_leaves_what_it_cannot_finish_in_time(caplog):
    async def never(_job: int) -> None:
        await asyncio.Event().wait()

    queue: WorkQueue[int] = WorkQueue(
        never, size=5, workers=1, name="test-queue", what="test jobs", log=log
    )
    queue.start()
    for job in range(3):
        assert queue.put(job)
    with caplog.at_level(logging.WARNING, logger="tests.background"):
        await queue.stop(timeout=0.05)
    assert "test jobs were left undone" in caplog.text
    with pytest.raises(TimeoutError):
        await queue.drain(timeout=0.01)
