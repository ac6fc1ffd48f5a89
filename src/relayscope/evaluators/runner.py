"""Evaluating logged requests with one evaluator, and storing the results as scores.

``EvaluatorRunner.evaluate_requests`` is the one entry point: the live sampler, the
on-demand run over an explorer filter and any other feature (an experiment scoring
its outputs) call it. Each request's verdict becomes the score named after the
evaluator (``store.scores``); a failed evaluation writes nothing on the request and
is counted on the evaluator (``failed``, ``last_error``) and in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from relayscope import metrics
from relayscope.evaluators.model import (
    EVALUATOR_PROPERTY,
    Evaluator,
    Failed,
    Judge,
    Outcome,
    Run,
    Scored,
)
from relayscope.evaluators.repository import EvaluatorRepository
from relayscope.evaluators.texts import subject_of
from relayscope.logs.writer import LogWriter
from relayscope.record import LogRecord
from relayscope.store import scores
from relayscope.store.base import LogStore
from relayscope.store.database import Database
from relayscope.store.scores import ScoreValue

log = logging.getLogger("relayscope.evaluators")

MAX_REQUESTS_PER_RUN = 1000
"""Requests one call may evaluate: a judge evaluator makes a model call for each."""


@dataclass(frozen=True, slots=True)
class RequestResult:
    request_id: str
    score: ScoreValue | None
    """The score written on the request; None when the evaluation failed."""
    error: str | None = None
    """Why no score was written: the evaluator's failure, or the request is unknown."""


@dataclass(frozen=True, slots=True)
class RunSummary:
    evaluator_id: str
    evaluator_name: str
    results: list[RequestResult] = field(default_factory=list)

    @property
    def scored(self) -> int:
        return sum(1 for r in self.results if r.score is not None)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.score is None)

    def to_json(self) -> dict[str, object]:
        return {
            "evaluator_id": self.evaluator_id,
            "evaluator": self.evaluator_name,
            "scored": self.scored,
            "failed": self.failed,
            "results": [
                {"request_id": r.request_id, "score": r.score, "error": r.error}
                for r in self.results
            ],
        }


class EvaluatorRunner:
    def __init__(
        self,
        repository: EvaluatorRepository,
        logs: LogStore,
        database: Database,
        *,
        judge: Judge | None = None,
        writer: LogWriter | None = None,
        concurrency: int = 4,
    ) -> None:
        self.repository = repository
        self.logs = logs
        self.database = database
        self.judge = judge
        self.writer = writer
        self.concurrency = concurrency

    async def evaluate_requests(
        self, org_id: str, evaluator: Evaluator, request_ids: Sequence[str]
    ) -> RunSummary:
        """Evaluate the org's ``request_ids`` (at most ``MAX_REQUESTS_PER_RUN``) with
        ``evaluator`` and store each verdict as its score on the request.

        A request another org owns is as unknown as one never made. Records this
        process still holds in its log writer are flushed first, so a caller may
        evaluate requests it has just made through the gateway.
        """
        if evaluator.org_id != org_id:
            raise ValueError("the evaluator belongs to another org")
        ids = list(dict.fromkeys(request_ids))[:MAX_REQUESTS_PER_RUN]
        records = await self._records(org_id, ids)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(request_id: str) -> RequestResult:
            record = records.get(request_id)
            if record is None:
                return RequestResult(request_id, None, "no such request")
            async with gate:
                return await self.evaluate_record(evaluator, record)

        results = await asyncio.gather(*(one(i) for i in ids))
        summary = RunSummary(evaluator.id, evaluator.name, list(results))
        errors = [r.error for r in summary.results if r.error is not None]
        await self.repository.count_results(
            evaluator.id,
            scored=summary.scored,
            failed=summary.failed,
            last_error=errors[-1] if errors else None,
        )
        return summary

    async def evaluate_record(self, evaluator: Evaluator, record: LogRecord) -> RequestResult:
        """One record's verdict, stored as a score; never raises for the record's sake."""
        if record.org_id != evaluator.org_id:  # never write on another org's request
            return RequestResult(record.id, None, "no such request")
        if EVALUATOR_PROPERTY in record.properties:
            return RequestResult(record.id, None, "an evaluator's own call is never evaluated")
        run = Run(record.org_id, evaluator.id, evaluator.name, self.judge)
        outcome = await self._outcome(evaluator, record, run)
        metrics.EVALUATIONS.labels(evaluator.kind, type(outcome).__name__.lower()).inc()
        if isinstance(outcome, Failed):
            return RequestResult(record.id, None, outcome.reason)
        await scores.save(
            self.database,
            record.org_id,
            record.id,
            {evaluator.name: outcome.value},
            logs=self.logs,
        )
        return RequestResult(record.id, outcome.value)

    async def _outcome(self, evaluator: Evaluator, record: LogRecord, run: Run) -> Outcome:
        try:
            return await evaluator.check.evaluate(subject_of(record), run)
        except Exception as exc:  # a bug in one check must not stop a run or the sampler
            log.exception("evaluator %s failed on request %s", evaluator.id, record.id)
            return Failed(f"the evaluator raised {type(exc).__name__}")

    async def _records(self, org_id: str, ids: list[str]) -> dict[str, LogRecord]:
        found = await self._fetch(org_id, ids)
        missing = [i for i in ids if i not in found]
        if missing and self.writer is not None and self.writer.queue_depth:
            with contextlib.suppress(TimeoutError):
                await self.writer.drain(timeout=self.writer.write_timeout * 2)
            found |= await self._fetch(org_id, missing)
        return found

    async def _fetch(self, org_id: str, ids: list[str]) -> dict[str, LogRecord]:
        found = {}
        for request_id in ids:
            record = await self.logs.get_request(org_id, request_id)
            if record is not None:
                found[request_id] = record
        return found


__all__ = ["MAX_REQUESTS_PER_RUN", "EvaluatorRunner", "RequestResult", "RunSummary", "Scored"]
