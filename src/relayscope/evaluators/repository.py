"""Evaluators in the SQL store (``schema.evaluators``), always read within one org."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from relayscope.errors import BadRequest, Conflict
from relayscope.evaluators import spec
from relayscope.evaluators.model import Check, Evaluator
from relayscope.store.database import Database
from relayscope.store.schema import evaluators

log = logging.getLogger("relayscope.evaluators")

MAX_PER_ORG = 100
"""Evaluators one org may keep: each sampled one costs work on every request."""
MAX_ERROR_CHARS = 500


class EvaluatorRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self, org_id: str, name: str, check: Check, *, sample_rate: float, description: str
    ) -> Evaluator:
        created = Evaluator(
            id=str(uuid.uuid4()),
            org_id=org_id,
            name=name,
            check=check,
            sample_rate=sample_rate,
            created_at=datetime.now(UTC),
            description=description,
        )
        e = evaluators.c
        async with self.database.begin() as conn:
            held = (await conn.execute(select(e.id).where(e.org_id == org_id))).all()
            if len(held) >= MAX_PER_ORG:
                raise BadRequest(
                    f"An org keeps at most {MAX_PER_ORG} evaluators; delete one first",
                    code="too_many_evaluators",
                )
            try:
                await conn.execute(
                    evaluators.insert().values(
                        id=created.id,
                        org_id=org_id,
                        name=name,
                        kind=check.kind,
                        config=check.config(),
                        sample_rate=sample_rate,
                        description=description,
                        created_at=created.created_at,
                        scored=0,
                        failed=0,
                    )
                )
            except IntegrityError:
                raise Conflict(
                    f"The org already has an evaluator named {name!r}",
                    param="name",
                    code="evaluator_exists",
                ) from None
        return created

    async def of_org(self, org_id: str) -> list[Evaluator]:
        e = evaluators.c
        query = select(evaluators).where(e.org_id == org_id).order_by(e.name)
        return await self._read(query)

    async def get(self, org_id: str, evaluator_id: str) -> Evaluator | None:
        e = evaluators.c
        found = await self._read(select(evaluators).where(e.org_id == org_id, e.id == evaluator_id))
        return found[0] if found else None

    async def sampled(self) -> list[Evaluator]:
        """Every org's evaluators that run on live traffic."""
        return await self._read(select(evaluators).where(evaluators.c.sample_rate > 0))

    async def update(
        self,
        org_id: str,
        evaluator_id: str,
        *,
        check: Check | None = None,
        sample_rate: float | None = None,
        description: str | None = None,
    ) -> Evaluator | None:
        values: dict[str, Any] = {}
        if check is not None:
            values["config"] = check.config()
        if sample_rate is not None:
            values["sample_rate"] = sample_rate
        if description is not None:
            values["description"] = description
        e = evaluators.c
        if values:
            async with self.database.begin() as conn:
                await conn.execute(
                    update(evaluators)
                    .where(e.org_id == org_id, e.id == evaluator_id)
                    .values(**values)
                )
        return await self.get(org_id, evaluator_id)

    async def delete(self, org_id: str, evaluator_id: str) -> bool:
        e = evaluators.c
        async with self.database.begin() as conn:
            result = await conn.execute(
                delete(evaluators).where(e.org_id == org_id, e.id == evaluator_id)
            )
        return result.rowcount > 0

    async def count_results(
        self, evaluator_id: str, *, scored: int, failed: int, last_error: str | None
    ) -> None:
        """Add a run's counts to the evaluator's (one statement: replicas add safely)."""
        if not scored and not failed:
            return
        e = evaluators.c
        values: dict[str, Any] = {"scored": e.scored + scored, "failed": e.failed + failed}
        if last_error is not None:
            values["last_error"] = last_error[:MAX_ERROR_CHARS]
            values["last_error_at"] = datetime.now(UTC)
        async with self.database.begin() as conn:
            await conn.execute(update(evaluators).where(e.id == evaluator_id).values(**values))

    async def _read(self, query: Any) -> list[Evaluator]:
        async with self.database.connect() as conn:
            rows: Sequence[Any] = (await conn.execute(query)).all()
        found = []
        for row in rows:
            try:
                check = spec.check(row.kind, row.config)
            except BadRequest as exc:  # a setting a later version no longer takes
                log.warning("evaluator %s cannot be loaded: %s", row.id, exc.message)
                continue
            found.append(
                Evaluator(
                    id=row.id,
                    org_id=row.org_id,
                    name=row.name,
                    check=check,
                    sample_rate=row.sample_rate,
                    created_at=_utc(row.created_at),
                    description=row.description,
                    scored=row.scored,
                    failed=row.failed,
                    last_error=row.last_error,
                    last_error_at=None if row.last_error_at is None else _utc(row.last_error_at),
                )
            )
        return found


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
