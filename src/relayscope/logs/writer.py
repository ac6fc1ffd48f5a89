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

A batch the store refuses while it is up holds a record the store cannot take:
``isolate`` finds it, the rest are stored, and it is kept as a dead letter (so is
a spool line that is not a record). No error in a batch stops the writer; should
the task die anyway, it is restarted (``_supervise``), and ``problem`` reports a
writer that is restarting or has stopped making progress (``/readyz``).

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
from pathlib import Path

from relayscope import gil, metrics
from relayscope.logs.deadletters import DeadLetter, DeadLetters, dead_letter_dir
from relayscope.logs.isolate import Outcome, store_isolating
from relayscope.logs.journal import Journal
from relayscope.logs.spool import Spool
from relayscope.record import LogRecord
from relayscope.store.base import LogStore

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
    quarantined: int = 0
    restarts: int = 0
    last_write_ms: float = 0.0
    last_stored_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when a batch was last stored."""
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
        dead_letters: DeadLetters | None = None,
        stall_after: float | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.store = store
        self.spool = spool
        self.journal = journal
        self.dead_letters = dead_letters or DeadLetters(dead_letter_dir(spool.directory.parent))
        self.stall_after = stall_after if stall_after is not None else max(30.0, 4 * write_timeout)
        """Seconds with records waiting and none stored or spooled before ``problem`` says so."""
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
        self._in_flight: list[LogRecord] = []
        self._replaying: Path | None = None
        self._unfiled: list[DeadLetter] = []
        self._crash: str | None = None
        self._closed = asyncio.Event()
        self._progress_at = time.monotonic()
        self.dead_letter_count = 0

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
        self.dead_letter_count = self.dead_letters.count()
        metrics.DEAD_LETTERS.set(self.dead_letter_count)
        self._task = asyncio.create_task(self._supervise(), name="relayscope-log-writer")
        if self._hooks:
            self._hook_task = asyncio.create_task(self._run_hooks(), name="relayscope-log-hooks")

    def submit(self, build: Builder) -> None:
        """Queue a record; ``build`` runs later, in the writer, to keep parsing off the hot path."""
        self.stats.submitted += 1
        if not self._queue and not self._held:
            self._progress_at = time.monotonic()  # waiting starts now
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
        self._closed.set()
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
        if self._queue or self._held or self._in_flight:
            await asyncio.to_thread(self._spill_now, self._take(len(self._queue)))
        if self._unfiled:
            await self._file_dead_letters()
        if self._hook_task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hook_queue.join(), timeout)
            self._hook_task.cancel()
            await asyncio.gather(self._hook_task, return_exceptions=True)

    def problem(self) -> str | None:
        """Why the writer is not doing its work, or None when it is."""
        if self._task is None or self._closing:
            return None
        if self._task.done():
            return "the log writer has stopped"
        if self._crash is not None:
            return f"the log writer crashed ({self._crash}) and is restarting"
        waiting = self.queue_depth
        idle = time.monotonic() - self._progress_at
        if waiting and idle > self.stall_after:
            return (
                f"the log writer is stalled: {waiting} records waiting, "
                f"none stored or spooled for {idle:.0f} s"
            )
        return None

    async def _supervise(self) -> None:
        """Run the writer; should it die, put its batch in the spool and start it again."""
        crashes = 0
        while True:
            try:
                await self._run()
                return
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if self._closing or (task is not None and task.cancelling()):
                    raise
                crash: BaseException = exc  # raised inside a library, not a cancellation
            except Exception as exc:
                crash = exc
            crashes += 1
            self.stats.restarts += 1
            metrics.LOG_WRITER_RESTARTS.inc()
            self._crash = f"{type(crash).__name__}: {crash}"[:300]
            log.error("the log writer crashed; restarting it", exc_info=crash)
            await self._rescue_in_flight()
            backoff = min(self.retry_interval * 2 ** min(crashes - 1, 5), 30.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closed.wait(), backoff)
            self._crash = None

    async def _rescue_in_flight(self) -> None:
        """The batch a crash interrupted goes to the spool; replayed, it crashed twice:
        it goes to the dead letters, so that one batch cannot stop the writer for good."""
        records, self._in_flight = self._in_flight, []
        replaying, self._replaying = self._replaying, None
        if replaying is None:
            await self._spill(records)
            return
        reason = f"the log writer crashed storing it ({self._crash})"
        await self._quarantine([DeadLetter(reason, "spool", record=r) for r in records])
        if not self._unfiled:
            await asyncio.to_thread(replaying.unlink, missing_ok=True)

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
        self._in_flight = records
        outcome = await store_isolating(self._insert, records)
        self._in_flight = []
        await self._settle(outcome)

    async def _insert(self, records: list[LogRecord]) -> None:
        started = time.perf_counter()
        await asyncio.wait_for(self.store.insert_requests(records), self.write_timeout)
        elapsed = time.perf_counter() - started
        metrics.STORE_WRITE_SECONDS.observe(elapsed)
        metrics.LOG_RECORDS.labels("written").inc(len(records))
        self.stats.last_write_ms = elapsed * 1000
        self.stats.written += len(records)
        self._stored(records)

    def _stored(self, records: list[LogRecord]) -> None:
        self._committed(records)
        self._after_write(records)
        self.stats.last_stored_at = self._progress_at = time.monotonic()
        if not self.stats.store_healthy:
            log.warning("log store is back; replaying the spool")
        self.stats.store_healthy = True

    async def _settle(self, outcome: Outcome) -> None:
        """Refused records become dead letters; those an outage left go to the spool."""
        if outcome.refused:
            await self._quarantine(
                [DeadLetter(reason, "store", record=record) for record, reason in outcome.refused]
            )
        if outcome.outage is not None:
            self._mark_unhealthy(outcome.outage)
            await self._spill(outcome.unstored)

    async def _quarantine(self, letters: list[DeadLetter]) -> None:
        log.error(
            "quarantined %d log records the store refused or could not read (%s); see %s",
            len(letters),
            letters[0].reason,
            self.dead_letters.directory,
        )
        self.stats.quarantined += len(letters)
        metrics.LOG_RECORDS.labels("quarantined").inc(len(letters))
        self._progress_at = time.monotonic()
        self._unfiled.extend(letters)
        await self._file_dead_letters()

    async def _file_dead_letters(self) -> None:
        letters, self._unfiled = self._unfiled, []
        try:
            await asyncio.to_thread(self.dead_letters.add, letters)
        except Exception as exc:  # kept in memory, and tried again after the next batch
            log.error("cannot write %d dead letters (%s); holding them", len(letters), exc)
            self._unfiled = letters + self._unfiled
            return
        self.dead_letter_count += len(letters)
        metrics.DEAD_LETTERS.set(self.dead_letter_count)

    async def _spill(self, records: list[LogRecord]) -> None:
        if not records:
            return
        try:
            await asyncio.to_thread(self.spool.write, records)
        except Exception as exc:
            # Neither the store nor the disk takes them: keep them and try again later.
            self.stats.spool_errors += 1
            if not self._held:
                log.error("cannot spool log records (%s); holding them in memory", exc)
            self._held.extend(records)
            return
        self.stats.spooled += len(records)
        self._progress_at = time.monotonic()
        self._committed(records)
        metrics.LOG_RECORDS.labels("spooled").inc(len(records))
        metrics.SPOOL_BYTES.set(await asyncio.to_thread(self.spool.size))
        self._spool_dirty = True

    def _spill_now(self, builders: list[Builder]) -> None:
        records = self._in_flight + self._held + self._build(builders)
        self._held, self._in_flight = [], []
        if not records:
            return
        try:
            self.spool.write(records)
        except Exception as exc:
            log.error("could not spool %d log records at shutdown: %s", len(records), exc)
            return
        self.stats.spooled += len(records)
        self._committed(records)
        metrics.LOG_RECORDS.labels("spooled").inc(len(records))

    def _committed(self, records: list[LogRecord]) -> None:
        """These records are safe in the store or the (fsynced) spool."""
        if self.journal is not None:
            # By the record's own identity: the store may have given it a new id.
            self.journal.done([(r.org_id, r.record_uid or r.id) for r in records])

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
            if not await self._replay_file(claimed):
                self._spool_dirty = True
                return
            metrics.SPOOL_BYTES.set(await asyncio.to_thread(self.spool.size))

    async def _replay_file(self, claimed: Path) -> bool:
        """Store a claimed spool file; False when the store is down (the rest stays spooled)."""
        spooled = await asyncio.to_thread(Spool.read_lines, claimed)
        if spooled.unreadable:
            await self._quarantine(
                [DeadLetter(reason, "spool", line=line) for line, reason in spooled.unreadable]
            )
        self._in_flight, self._replaying = spooled.records, claimed
        outcome = await store_isolating(self._insert_replayed, spooled.records)
        self._in_flight, self._replaying = [], None
        if outcome.outage is not None and not (
            spooled.unreadable or outcome.stored or outcome.refused
        ):
            await asyncio.to_thread(self.spool.release, claimed)
            self._mark_unhealthy(outcome.outage)
            return False
        await self._settle(outcome)  # what is left is spooled again, in a new file
        await asyncio.to_thread(claimed.unlink)
        return outcome.outage is None

    async def _insert_replayed(self, records: list[LogRecord]) -> None:
        if not records:
            return
        await asyncio.wait_for(self.store.insert_requests(records), self.write_timeout)
        self.stats.replayed += len(records)
        metrics.LOG_RECORDS.labels("replayed").inc(len(records))
        self._stored(records)
