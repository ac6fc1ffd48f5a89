"""Turns finished requests into stored log records, off the request path.

The proxy hands over a record builder with ``submit`` (never blocks, never
fails). A background task has batches built (parsed, priced) on a worker thread
and written. A
batch the store refuses or is too slow to take goes to the on-disk spool, which
is replayed, oldest first, once the store answers again. ``drain`` waits until
everything submitted so far is stored or spooled; ``close`` drains and stops.

Post-write hooks (``add_hook``) receive every batch once it is stored, replayed
batches included. They run in their own task, fed through a bounded queue, so a
slow hook never delays writes: when the queue is full a batch skips the hooks and
is counted in ``stats.hook_dropped``.

Each built record also goes to the ``observers`` (metrics, trace export), here in
the background, never on the request path.

With a ``journal`` (``logs/journal.py``), records the store or the spool took are
marked done there, so the journal can drop them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from relayscope import metrics
from relayscope.logs import gil
from relayscope.logs.journal import Journal
from relayscope.logs.record import LogRecord
from relayscope.logs.spool import Spool
from relayscope.store.base import LogStore, StoreUnavailable

log = logging.getLogger("relayscope.logs")

Builder = Callable[[], LogRecord]
WriteHook = Callable[[list[LogRecord]], Awaitable[None]]
"""Called with each batch of records after the store took it."""
Observer = Callable[[LogRecord], None]


@dataclass(slots=True)
class WriterStats:
    submitted: int = 0
    written: int = 0
    spooled: int = 0
    replayed: int = 0
    failed_builds: int = 0
    spool_errors: int = 0
    hook_dropped: int = 0
    last_write_ms: float = 0.0
    store_healthy: bool = True
    errors: list[str] = field(default_factory=list)


class LogWriter:
    def __init__(
        self,
        store: LogStore,
        spool: Spool,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.25,
        write_timeout: float = 5.0,
        max_queued: int = 100_000,
        retry_interval: float = 1.0,
        hook_queue_max: int = 1000,
        observers: Sequence[Observer] = (metrics.observe_record,),
        journal: Journal | None = None,
    ) -> None:
        self.store = store
        self.spool = spool
        self.journal = journal
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.write_timeout = write_timeout
        self.max_queued = max_queued
        self.retry_interval = retry_interval
        self.observers = tuple(observers)
        self.stats = WriterStats()
        self._queue: list[Builder] = []
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._draining = False
        self._replay_due = 0.0
        self._spool_dirty = True
        self._held: list[LogRecord] = []
        self._hooks: list[WriteHook] = []
        self._hook_queue: asyncio.Queue[list[LogRecord]] = asyncio.Queue(hook_queue_max)
        self._hook_task: asyncio.Task[None] | None = None

    def add_hook(self, hook: WriteHook) -> None:
        """Call ``hook`` with every stored batch, in the background (see the module doc)."""
        self._hooks.append(hook)
        if self._task is not None and self._hook_task is None:
            self._hook_task = asyncio.create_task(self._run_hooks(), name="relayscope-log-hooks")

    @property
    def queue_depth(self) -> int:
        """Records waiting for the store: queued, plus held after a failed spool."""
        return len(self._queue) + len(self._held)

    def start(self) -> None:
        self.spool.recover_orphans()
        metrics.SPOOL_BYTES.set(self.spool.size())
        self._task = asyncio.create_task(self._run(), name="relayscope-log-writer")
        if self._hooks:
            self._hook_task = asyncio.create_task(self._run_hooks(), name="relayscope-log-hooks")

    def submit(self, build: Builder) -> None:
        """Queue a record; ``build`` runs later, in the writer, to keep parsing off the hot path."""
        self.stats.submitted += 1
        self._queue.append(build)
        self._idle.clear()
        if len(self._queue) >= self.batch_size:
            self._wakeup.set()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every record submitted so far is stored or spooled."""
        self._draining = True
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
        if self._hook_task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hook_queue.join(), timeout)
            self._hook_task.cancel()
            await asyncio.gather(self._hook_task, return_exceptions=True)

    def _after_write(self, records: list[LogRecord]) -> None:
        if not self._hooks:
            return
        try:
            self._hook_queue.put_nowait(records)
        except asyncio.QueueFull:
            self.stats.hook_dropped += len(records)

    async def _run_hooks(self) -> None:
        while True:
            records = await self._hook_queue.get()
            for hook in self._hooks:
                try:
                    await hook(records)
                except Exception:  # one failing hook must not starve the others
                    log.exception("log write hook %r failed", hook)
            self._hook_queue.task_done()

    async def _run(self) -> None:
        while True:
            await self._catch_up()
            if self._closing and not self._queue:
                self._idle.set()
                return
            if not self._queue and not self._held:
                self._draining = False
                self._idle.set()
            wait = self.flush_interval
            if self._spool_dirty:
                wait = min(wait, self.retry_interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), wait)
            self._wakeup.clear()
            metrics.LOG_QUEUE_DEPTH.set(len(self._queue))
            while self._queue:
                gil.keep_up(len(self._queue) <= self.batch_size)
                await self._write(await self._build_off_loop(self._take(self.batch_size)))
                if len(self._queue) > self.max_queued:
                    await self._spill(await self._build_off_loop(self._take(len(self._queue))))
                # Under sustained traffic the queue never empties: catch up a file at a
                # time between batches, or the spool would wait for a lull to be replayed.
                await self._catch_up(max_files=1)
                # What arrived during that write waits for the next flush: a batch has a
                # fixed cost, and back-to-back tiny ones kept a core busy for nothing.
                if len(self._queue) < self.batch_size and not (self._closing or self._draining):
                    break

    async def _catch_up(self, max_files: int | None = None) -> None:
        """Replay spooled records and write held ones, once the store is back (or due)."""
        due = self.stats.store_healthy or time.monotonic() >= self._replay_due
        if self._spool_dirty and due:
            await self._replay(max_files)
        if self._held and (self.stats.store_healthy or time.monotonic() >= self._replay_due):
            held, self._held = self._held, []
            await self._write(held)

    def _take(self, n: int) -> list[Builder]:
        batch, self._queue = self._queue[:n], self._queue[n:]
        return batch

    async def _build_off_loop(self, builders: list[Builder]) -> list[LogRecord]:
        """Build on a worker thread, so the event loop keeps serving requests.

        Parsing and pricing cost tens of microseconds a record: a batch built on the
        loop would stall every request in flight for milliseconds.
        """
        return await asyncio.to_thread(self._build, builders)

    def _build(self, builders: list[Builder]) -> list[LogRecord]:
        records = []
        for build in builders:
            gil.pause()
            try:
                records.append(build())
            except Exception:  # a record that cannot be built must not stop the others
                self.stats.failed_builds += 1
                metrics.LOG_RECORDS.labels("failed").inc()
                log.exception("could not build a log record")
        for observe in self.observers:
            for record in records:
                try:
                    observe(record)
                except Exception:  # an observer's failure must not cost the record
                    log.exception("log record observer %r failed", observe)
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
        elapsed = time.perf_counter() - started
        metrics.STORE_WRITE_SECONDS.observe(elapsed)
        metrics.LOG_RECORDS.labels("written").inc(len(records))
        self.stats.last_write_ms = elapsed * 1000
        self.stats.written += len(records)
        self._committed(records)
        self._after_write(records)
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
        self._committed(records)
        metrics.LOG_RECORDS.labels("spooled").inc(len(records))
        metrics.SPOOL_BYTES.set(await asyncio.to_thread(self.spool.size))
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
        self._committed(records)
        metrics.LOG_RECORDS.labels("spooled").inc(len(records))

    def _committed(self, records: list[LogRecord]) -> None:
        """These records are safe in the store or the (fsynced) spool."""
        if self.journal is not None:
            self.journal.done([(record.org_id, record.id) for record in records])

    def _mark_unhealthy(self, exc: BaseException) -> None:
        reason = str(exc) or f"{type(exc).__name__} after {self.write_timeout} s"
        if self.stats.store_healthy:
            log.warning(
                "log store unavailable (%s); spooling records to %s", reason, self.spool.directory
            )
        self.stats.store_healthy = False
        self.stats.errors = [*self.stats.errors[-9:], f"{datetime.now().isoformat()} {reason}"]
        self._replay_due = time.monotonic() + self.retry_interval

    async def _replay(self, max_files: int | None = None) -> None:
        self._spool_dirty = False
        pending = await asyncio.to_thread(self.spool.pending)
        if max_files is not None and len(pending) > max_files:
            pending = pending[:max_files]
            self._spool_dirty = True  # the rest on the next call
        for path in pending:
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
            self._after_write(records)
            metrics.LOG_RECORDS.labels("replayed").inc(len(records))
            metrics.SPOOL_BYTES.set(await asyncio.to_thread(self.spool.size))
            self.stats.store_healthy = True
