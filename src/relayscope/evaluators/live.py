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

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from relayscope import metrics
from relayscope.background import OrgLists, WorkQueue
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
        self.stats = LiveStats()
        self.coin = coin
        """Uniform in [0, 1): a request is evaluated when it falls below the sample rate."""
        self._evaluators = OrgLists(
            repository.sampled,
            lambda evaluator: evaluator.org_id,
            ttl=cache_ttl,
            what="evaluators",
            log=log,
        )
        self._queue: WorkQueue[tuple[Evaluator, LogRecord]] = WorkQueue(
            self._evaluate,
            size=queue_size,
            workers=workers,
            name="relayscope-evaluators",
            what="live evaluations",
            log=log,
        )

    @property
    def queue_depth(self) -> int:
        return self._queue.depth

    def invalidate(self) -> None:
        """Reload the evaluators before the next batch (after a change made here)."""
        self._evaluators.invalidate()

    async def __call__(self, records: list[LogRecord]) -> None:
        by_org = await self._evaluators.get()
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
        if not self._queue.put((evaluator, record)):
            self.stats.dropped += 1
            metrics.EVALUATIONS_DROPPED.inc()
            return
        self.stats.queued += 1
        metrics.EVALUATION_QUEUE_DEPTH.set(self._queue.depth)

    def start(self) -> None:
        self._queue.start()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued evaluation is done."""
        await self._queue.drain(timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        await self._queue.stop(timeout)

    async def _evaluate(self, job: tuple[Evaluator, LogRecord]) -> None:
        evaluator, record = job
        metrics.EVALUATION_QUEUE_DEPTH.set(self._queue.depth)
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
