"""Turns finished requests into stored log records, off the request path.

The proxy hands over a ``PendingRecord`` with ``submit`` (never blocks, never
fails). A background task parses responses, prices them and writes batches. A
batch the store refuses or is too slow to take goes to the on-disk spool, which
is replayed, oldest first, once the store answers again. ``drain`` waits until
everything submitted so far is stored or spooled; ``close`` drains and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from relayscope.logs.record import LogRecord
from relayscope.logs.spool import Spool
from relayscope.store.base import Store, StoreUnavailable

log = logging.getLogger("relayscope.logs")

Builder = Callable[[], LogRecord]
_BUILD_SLICE = 16


@dataclass(slots=True)
class WriterStats:
    submitted: int = 0
    written: int = 0
    spooled: int = 0
    replayed: int = 0
    failed_builds: int = 0
    spool_errors: int = 0
    last_write_ms: float = 0.0
    store_healthy: bool = True
    errors: list[str] = field(default_factory=list)


class LogWriter:
    def __init__(
        self,
        store: Store,
        spool: Spool,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.25,
        write_timeout: float = 5.0,
        max_queued: int = 100_000,
        retry_interval: float = 1.0,
    ) -> None:
        self.store = store
        self.spool = spool
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.write_timeout = write_timeout
        self.max_queued = max_queued
        self.retry_interval = retry_interval
        self.stats = WriterStats()
        self._queue: list[Builder] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._replay_due = 0.0
        self._spool_dirty = True
        self._held: list[LogRecord] = []

    @property
    def queue_depth(self) -> int:
        """Records waiting for the store: queued, plus held after a failed spool."""
        return len(self._queue) + len(self._held)

    def start(self) -> None:
        self.spool.recover_orphans()
        self._task = asyncio.create_task(self._run(), name="relayscope-log-writer")

    def submit(self, build: Builder) -> None:
        """Queue a record; ``build`` runs later, in the writer, to keep parsing off the hot path."""
        self.stats.submitted += 1
        self._queue.append(build)
        self._idle.clear()
        if len(self._queue) >= self.batch_size:
            self._wakeup.set()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every record submitted so far is stored or spooled."""
        self._wakeup.set()
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self, timeout: float = 10.0) -> None:
        self._closing = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
        if self._queue or self._held:
            await asyncio.to_thread(self._spill_now, self._take(len(self._queue)))

    async def _run(self) -> None:
        while True:
            if self._spool_dirty and (
                self.stats.store_healthy or time.monotonic() >= self._replay_due
            ):
                await self._replay()
            if self._held and (self.stats.store_healthy or time.monotonic() >= self._replay_due):
                held, self._held = self._held, []
                await self._write(held)
            if self._closing and not self._queue:
                self._idle.set()
                return
            if not self._queue and not self._held:
                self._idle.set()
            wait = self.flush_interval
            if self._spool_dirty:
                wait = min(wait, self.retry_interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)
            self._wakeup.clear()
            while self._queue:
                await self._write(await self._build_yielding(self._take(self.batch_size)))
                if len(self._queue) > self.max_queued:
                    await self._spill(await self._build_yielding(self._take(len(self._queue))))

    def _take(self, n: int) -> list[Builder]:
        batch, self._queue = self._queue[:n], self._queue[n:]
        return batch

    async def _build_yielding(self, builders: list[Builder]) -> list[LogRecord]:
        """Build in small slices, letting the event loop serve requests in between.

        Pricing and parsing cost ~0.1 ms a record; a 500-record batch built in one go
        would stall every request on the loop for tens of milliseconds.
        """
        records: list[LogRecord] = []
        for start in range(0, len(builders), _BUILD_SLICE):
            records.extend(self._build(builders[start : start + _BUILD_SLICE]))
            await asyncio.sleep(0)
        return records

    def _build(self, builders: list[Builder]) -> list[LogRecord]:
        records = []
        for build in builders:
            try:
                records.append(build())
            except Exception:  # a record that cannot be built must not stop the others
                self.stats.failed_builds += 1
                log.exception("could not build a log record")
        return records

    async def _write(self, records: list[LogRecord]) -> None:
        if not records:
            return
        if not self.stats.store_healthy and time.monotonic() < self._replay_due:
            await self._spill(records)
            return
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.store.insert_requests(records), self.write_timeout)
        except (StoreUnavailable, TimeoutError, OSError) as exc:
            self._mark_unhealthy(exc)
            await self._spill(records)
            return
        self.stats.last_write_ms = (time.perf_counter() - started) * 1000
        self.stats.written += len(records)
        if not self.stats.store_healthy:
            log.warning("log store is back; replaying the spool")
        self.stats.store_healthy = True

    async def _spill(self, records: list[LogRecord]) -> None:
        if not records:
            return
        try:
            await asyncio.to_thread(self.spool.write, records)
        except OSError as exc:
            # Neither the store nor the disk takes them: keep them and try again later.
            self.stats.spool_errors += 1
            if not self._held:
                log.error("cannot spool log records (%s); holding them in memory", exc)
            self._held.extend(records)
            return
        self.stats.spooled += len(records)
        self._spool_dirty = True

    def _spill_now(self, builders: list[Builder]) -> None:
        records = self._held + self._build(builders)
        self._held = []
        if not records:
            return
        try:
            self.spool.write(records)
        except OSError as exc:
            log.error("could not spool %d log records at shutdown: %s", len(records), exc)
            return
        self.stats.spooled += len(records)

    def _mark_unhealthy(self, exc: BaseException) -> None:
        reason = str(exc) or f"{type(exc).__name__} after {self.write_timeout} s"
        if self.stats.store_healthy:
            log.warning(
                "log store unavailable (%s); spooling records to %s", reason, self.spool.directory
            )
        self.stats.store_healthy = False
        self.stats.errors = [*self.stats.errors[-9:], f"{datetime.now().isoformat()} {reason}"]
        self._replay_due = time.monotonic() + self.retry_interval

    async def _replay(self) -> None:
        self._spool_dirty = False
        for path in await asyncio.to_thread(self.spool.pending):
            claimed = await asyncio.to_thread(self.spool.claim, path)
            if claimed is None:
                continue
            records = await asyncio.to_thread(Spool.read, claimed)
            try:
                await asyncio.wait_for(self.store.insert_requests(records), self.write_timeout)
            except (StoreUnavailable, TimeoutError, OSError) as exc:
                await asyncio.to_thread(self.spool.release, claimed)
                self._mark_unhealthy(exc)
                self._spool_dirty = True
                return
            await asyncio.to_thread(claimed.unlink)
            self.stats.replayed += len(records)
            self.stats.store_healthy = True
