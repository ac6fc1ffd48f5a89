"""Everything evaluators run in a gateway process, started and stopped with it.

``Evaluators.evaluate_requests`` is what other features call to score requests
they chose (an experiment's outputs, say)::

    summary = await gateway.evaluators.evaluate_requests(org_id, evaluator_id, ids)
    summary.scored, summary.failed, summary.results  # RunSummary

Each verdict is stored as the score named after the evaluator on its request.
"""

from __future__ import annotations

from collections.abc import Sequence

from relayscope.errors import NotFound
from relayscope.evaluators.live import LiveSampler
from relayscope.evaluators.model import EVALUATOR_PROPERTY, Evaluator, Judge
from relayscope.evaluators.repository import EvaluatorRepository
from relayscope.evaluators.runner import MAX_REQUESTS_PER_RUN, EvaluatorRunner, RunSummary
from relayscope.evaluators.settings import EvaluatorSettings
from relayscope.logs.writer import LogWriter
from relayscope.store.base import LogStore, RequestFilter
from relayscope.store.database import Database


class Evaluators:
    def __init__(
        self,
        settings: EvaluatorSettings,
        database: Database,
        logs: LogStore,
        *,
        judge: Judge | None = None,
        writer: LogWriter | None = None,
    ) -> None:
        self.settings = settings
        self.repository = EvaluatorRepository(database)
        self.runner = EvaluatorRunner(
            self.repository,
            logs,
            database,
            judge=judge,
            writer=writer,
            concurrency=settings.run_concurrency,
        )
        self.logs = logs
        self.sampler: LiveSampler | None = None
        if settings.live and writer is not None:
            self.sampler = LiveSampler(
                self.repository,
                self.runner,
                queue_size=settings.queue_size,
                workers=settings.workers,
                cache_ttl=settings.cache_ttl,
            )
            writer.add_hook(self.sampler)

    def start(self) -> None:
        if self.sampler is not None:
            self.sampler.start()

    async def stop(self) -> None:
        """Finish (or give up on) queued live evaluations; call after the writer closed."""
        if self.sampler is not None:
            await self.sampler.stop()

    def changed(self) -> None:
        """An evaluator was created, changed or deleted through this process."""
        if self.sampler is not None:
            self.sampler.invalidate()

    async def get(self, org_id: str, evaluator_id: str) -> Evaluator:
        evaluator = await self.repository.get(org_id, evaluator_id)
        if evaluator is None:
            raise NotFound(f"No evaluator with id {evaluator_id!r}")
        return evaluator

    async def evaluate_requests(
        self, org_id: str, evaluator_id: str, request_ids: Sequence[str]
    ) -> RunSummary:
        """Evaluate the org's ``request_ids`` (at most ``MAX_REQUESTS_PER_RUN``) with its
        evaluator ``evaluator_id`` and store the verdicts as scores named after it.

        NotFound when the org has no such evaluator; an id the org does not own is
        reported in the summary (``error: "no such request"``), never evaluated.
        """
        evaluator = await self.get(org_id, evaluator_id)
        return await self.runner.evaluate_requests(org_id, evaluator, request_ids)

    async def evaluate_filter(
        self, org_id: str, evaluator_id: str, filters: RequestFilter, *, limit: int
    ) -> RunSummary:
        """Evaluate the org's newest ``limit`` requests matching ``filters`` (the
        explorer's, as ``/api/requests`` takes them)."""
        evaluator = await self.get(org_id, evaluator_id)
        page = await self.logs.list_requests(
            org_id, filters, limit=min(limit, MAX_REQUESTS_PER_RUN), cursor=None
        )
        ids = [r.id for r in page.records if EVALUATOR_PROPERTY not in r.properties]
        return await self.runner.evaluate_requests(org_id, evaluator, ids)
