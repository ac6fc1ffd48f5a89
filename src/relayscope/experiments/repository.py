"""Experiments and their per-row results in the SQL store, scoped by org."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from relayscope.errors import NotFound
from relayscope.experiments.variants import Variant, from_stored
from relayscope.store.database import Database
from relayscope.store.schema import experiment_results, experiments

DRAFT, RUNNING, COMPLETED, CANCELLED, INTERRUPTED = (
    "draft",
    "running",
    "completed",
    "cancelled",
    "interrupted",
)
"""A draft waits for its estimate to be confirmed (``start``); a run ends completed,
cancelled, or interrupted when its gateway stopped first."""
OK, FAILED = "ok", "failed"


@dataclass(frozen=True, slots=True)
class Experiment:
    id: str
    dataset_id: str
    name: str
    variants: list[Variant]
    concurrency: int
    estimate: dict[str, Any]
    status: str
    total: int
    completed: int
    failed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dataset_id": self.dataset_id,
            "name": self.name,
            "variants": [v.to_json() for v in self.variants],
            "concurrency": self.concurrency,
            "estimate": self.estimate,
            "status": self.status,
            "progress": {
                "total": self.total,
                "done": self.completed + self.failed,
                "succeeded": self.completed,
                "failed": self.failed,
            },
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
        }


@dataclass(frozen=True, slots=True)
class Result:
    row_id: str
    variant: int
    status: str
    request_id: str | None
    output: str | None
    error: str | None


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


_COLUMNS = (
    experiments.c.id,
    experiments.c.dataset_id,
    experiments.c.name,
    experiments.c.variants,
    experiments.c.concurrency,
    experiments.c.estimate,
    experiments.c.status,
    experiments.c.total,
    experiments.c.completed,
    experiments.c.failed,
    experiments.c.created_at,
    experiments.c.started_at,
    experiments.c.finished_at,
)


def _experiment(row: Any) -> Experiment:
    values = list(row)
    values[3] = from_stored(values[3])
    return Experiment(*values)


class ExperimentRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self,
        org_id: str,
        *,
        dataset_id: str,
        name: str,
        variants: list[Variant],
        concurrency: int,
        estimate: dict[str, Any],
        total: int,
    ) -> Experiment:
        experiment_id = str(uuid.uuid4())
        async with self.database.begin() as conn:
            await conn.execute(
                experiments.insert().values(
                    org_id=org_id,
                    id=experiment_id,
                    dataset_id=dataset_id,
                    name=name,
                    variants=[v.to_json() for v in variants],
                    concurrency=concurrency,
                    estimate=estimate,
                    status=DRAFT,
                    total=total,
                    completed=0,
                    failed=0,
                    created_at=datetime.now(UTC),
                )
            )
        return await self.require(org_id, experiment_id)

    async def all(self, org_id: str) -> list[Experiment]:
        e = experiments.c
        query = select(*_COLUMNS).where(e.org_id == org_id).order_by(e.created_at.desc(), e.id)
        async with self.database.connect() as conn:
            return [_experiment(row) for row in (await conn.execute(query)).all()]

    async def require(self, org_id: str, experiment_id: str) -> Experiment:
        e = experiments.c
        query = select(*_COLUMNS).where(e.org_id == org_id, e.id == experiment_id)
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"No experiment with id {experiment_id!r}")
        return _experiment(row)

    async def move(self, org_id: str, experiment_id: str, *, frm: tuple[str, ...], to: str) -> bool:
        """Set the status to ``to`` if it is one of ``frm``; whether it was."""
        e = experiments.c
        now = datetime.now(UTC)
        values: dict[str, Any] = {"status": to}
        if to == RUNNING:
            values["started_at"] = now
        else:
            values["finished_at"] = now
        async with self.database.begin() as conn:
            done = await conn.execute(
                update(experiments)
                .where(e.org_id == org_id, e.id == experiment_id, e.status.in_(frm))
                .values(**values)
            )
        return bool(done.rowcount)

    async def status(self, org_id: str, experiment_id: str) -> str | None:
        e = experiments.c
        query = select(e.status).where(e.org_id == org_id, e.id == experiment_id)
        async with self.database.connect() as conn:
            return (await conn.execute(query)).scalar_one_or_none()

    async def record(self, org_id: str, experiment_id: str, result: Result) -> None:
        """Store one row's result and count it in the experiment's progress."""
        e = experiments.c
        counter = e.failed if result.status == FAILED else e.completed
        async with self.database.begin() as conn:
            await conn.execute(
                experiment_results.insert().values(
                    org_id=org_id,
                    experiment_id=experiment_id,
                    row_id=result.row_id,
                    variant=result.variant,
                    status=result.status,
                    request_id=result.request_id,
                    output=result.output,
                    error=result.error,
                    created_at=datetime.now(UTC),
                )
            )
            await conn.execute(
                update(experiments)
                .where(e.org_id == org_id, e.id == experiment_id)
                .values({counter: counter + 1})
            )

    async def results(self, org_id: str, experiment_id: str) -> list[Result]:
        r = experiment_results.c
        query = select(r.row_id, r.variant, r.status, r.request_id, r.output, r.error).where(
            r.org_id == org_id, r.experiment_id == experiment_id
        )
        async with self.database.connect() as conn:
            return [Result(*row) for row in (await conn.execute(query)).all()]
