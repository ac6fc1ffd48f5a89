"""The two parts of a log writer hook that works off the hot path (request webhooks,
live evaluation): each org's list of what to do, cached, and a bounded queue that a
few worker tasks drain.

``OrgLists`` loads every org's items at most once per ``ttl`` and keeps the last list
when a load fails (a store hiccup must not switch webhooks or evaluators off).
``WorkQueue`` only ever puts without waiting: a full queue refuses the job, and the
hook counts it dropped, so neither a request nor the log writer waits for a worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")
Job = TypeVar("Job")


class OrgLists(Generic[T]):
    def __init__(
        self,
        load: Callable[[], Awaitable[Iterable[T]]],
        org_of: Callable[[T], str],
        *,
        ttl: float,
        what: str,
        log: logging.Logger,
    ) -> None:
        self.load = load
        self.org_of = org_of
        self.ttl = ttl
        self.what = what
        """Named in the warning when a load fails ("request webhooks")."""
        self.log = log
        self._by_org: dict[str, list[T]] = {}
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        """Load again on the next ``get`` (after a change made in this process)."""
        self._loaded_at = float("-inf")

    async def get(self) -> dict[str, list[T]]:
        """Each org's items, loaded when the last load is ``ttl`` old."""
        now = time.monotonic()
        if now - self._loaded_at >= self.ttl:
            try:
                items = await self.load()
            except Exception:
                self.log.warning("could not load %s; using the last list", self.what, exc_info=True)
            else:
                by_org: dict[str, list[T]] = defaultdict(list)
                for item in items:
                    by_org[self.org_of(item)].append(item)
                self._by_org = dict(by_org)
            self._loaded_at = now
        return self._by_org


class WorkQueue(Generic[Job]):
    def __init__(
        self,
        work: Callable[[Job], Awaitable[None]],
        *,
        size: int,
        workers: int,
        name: str,
        what: str,
        log: logging.Logger,
    ) -> None:
        self.work = work
        """Runs one job; an exception it raises is logged and the worker goes on."""
        self.workers = workers
        self.name = name
        """The worker tasks' name prefix."""
        self.what = what
        """The jobs, in log lines ("live evaluations")."""
        self.log = log
        self.dropped = 0
        self._queue: asyncio.Queue[Job] = asyncio.Queue(size)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def put(self, job: Job) -> bool:
        """Queue ``job``; False, counted in ``dropped`` and logged now and then, when the
        queue is full."""
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                self.log.warning("the %s queue is full; dropped %d so far", self.what, self.dropped)
            return False
        return True

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name=f"{self.name}-{i}") for i in range(self.workers)
        ]

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued job is done."""
        await asyncio.wait_for(self._queue.join(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        """Let the queued jobs finish for up to ``timeout`` seconds, then stop the workers."""
        try:
            await self.drain(timeout)
        except TimeoutError:
            self.log.warning("%d %s were left undone", self._queue.qsize(), self.what)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _run(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self.work(job)
            except Exception:
                self.log.exception("one of the %s failed", self.what)
            finally:
                self._queue.task_done()
