"""Live evaluation: a sampled share of each org's traffic, evaluated off the hot path.

The sampler is a ``LogWriter`` post-write hook: it sees each batch once the store
took it, long after the responses went out. For each record and each of its org's
evaluators with a ``sample_rate``, a coin toss picks it, and (evaluator, record) goes
into a bounded queue that a few worker tasks drain. The hook only puts: a full queue
drops the evaluation and counts it (``relayscope_evaluations_dropped``), so neither a
request nor the log writer ever waits for an evaluator, however slow its judge is.

An evaluator's own judge calls carry ``EVALUATOR_PROPERTY`` and are never sampled.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from relayscope import metrics
from relayscope.evaluators.model import EVALUATOR_PROPERTY, Evaluator
from relayscope.evaluators.repository import EvaluatorRepository
from relayscope.evaluators.runner import EvaluatorRunner
from relayscope.record import LogRecord

log = logging.getLogger("relayscope.evaluators")


@dataclass(slots=True)
class LiveStats:
    queued: int = 0
    evaluated: int = 0
    dropped: int = 0


class LiveSampler:
    def __init__(
        self,
        repository: EvaluatorRepository,
        runner: EvaluatorRunner,
        *,
        queue_size: int,
        workers: int,
        cache_ttl: float,
        coin: Callable[[], float] = random.random,
    ) -> None:
        self.repository = repository
        self.runner = runner
        self.workers = workers
        self.cache_ttl = cache_ttl
        self.stats = LiveStats()
        self.coin = coin
        """Uniform in [0, 1): a request is evaluated when it falls below the sample rate."""
        self._queue: asyncio.Queue[tuple[Evaluator, LogRecord]] = asyncio.Queue(queue_size)
        self._by_org: dict[str, list[Evaluator]] = {}
        self._loaded_at = float("-inf")
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def invalidate(self) -> None:
        """Reload the evaluators before the next batch (after a change made here)."""
        self._loaded_at = float("-inf")

    async def __call__(self, records: list[LogRecord]) -> None:
        by_org = await self._evaluators()
        if not by_org:
            return
        for record in records:
            chosen = by_org.get(record.org_id)
            if not chosen or EVALUATOR_PROPERTY in record.properties:
                continue
            for evaluator in chosen:
                if self.coin() < evaluator.sample_rate:
                    self._enqueue(evaluator, record)

    def _enqueue(self, evaluator: Evaluator, record: LogRecord) -> None:
        try:
            self._queue.put_nowait((evaluator, record))
        except asyncio.QueueFull:
            self.stats.dropped += 1
            metrics.EVALUATIONS_DROPPED.inc()
            if self.stats.dropped % 1000 == 1:
                log.warning(
                    "live evaluation queue is full; dropped %d evaluations so far",
                    self.stats.dropped,
                )
            return
        self.stats.queued += 1
        metrics.EVALUATION_QUEUE_DEPTH.set(self._queue.qsize())

    async def _evaluators(self) -> dict[str, list[Evaluator]]:
        now = time.monotonic()
        if now - self._loaded_at >= self.cache_ttl:
            try:
                sampled = await self.repository.sampled()
            except Exception:
                log.warning("could not load evaluators; using the last list", exc_info=True)
            else:
                by_org: dict[str, list[Evaluator]] = defaultdict(list)
                for evaluator in sampled:
                    by_org[evaluator.org_id].append(evaluator)
                self._by_org = dict(by_org)
            self._loaded_at = now
        return self._by_org

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"relayscope-evaluators-{i}")
            for i in range(self.workers)
        ]

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued evaluation is done."""
        await asyncio.wait_for(self._queue.join(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        try:
            await self.drain(timeout)
        except TimeoutError:
            log.warning("%d live evaluations were not run", self._queue.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            evaluator, record = await self._queue.get()
            metrics.EVALUATION_QUEUE_DEPTH.set(self._queue.qsize())
            try:
                result = await self.runner.evaluate_record(evaluator, record)
                await self.repository.count_results(
                    evaluator.id,
                    scored=int(result.score is not None),
                    failed=int(result.score is None),
                    last_error=result.error,
                )
                self.stats.evaluated += 1
            except Exception:
                log.exception("live evaluation by %s of %s failed", evaluator.id, record.id)
            finally:
                self._queue.task_done()
