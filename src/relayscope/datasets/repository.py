"""Datasets and their rows in the SQL store (``schema.datasets``, ``schema.dataset_rows``).

Every query names the org: one org never reads or changes another's dataset.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from relayscope.datasets.rows import RowFields
from relayscope.errors import BadRequest, NotFound
from relayscope.store.database import Database
from relayscope.store.schema import dataset_rows, datasets

MAX_ROWS = 10_000
"""Rows one dataset may hold."""


@dataclass(frozen=True, slots=True)
class Dataset:
    id: str
    name: str
    description: str | None
    row_count: int
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "row_count": self.row_count,
            "created_at": _utc(self.created_at).isoformat(),
            "updated_at": _utc(self.updated_at).isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    dataset_id: str
    position: int
    messages: list[dict[str, Any]]
    output: str | None
    expected: str | None
    request_id: str | None
    model: str | None
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dataset_id": self.dataset_id,
            "position": self.position,
            "messages": self.messages,
            "output": self.output,
            "expected": self.expected,
            "request_id": self.request_id,
            "model": self.model,
            "updated_at": _utc(self.updated_at).isoformat(),
        }


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_COUNT = (
    select(func.count())
    .where(
        dataset_rows.c.org_id == datasets.c.org_id,
        dataset_rows.c.dataset_id == datasets.c.id,
    )
    .scalar_subquery()
)


class DatasetRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self, org_id: str, name: str, description: str | None, rows: Sequence[RowFields]
    ) -> Dataset:
        if len(rows) > MAX_ROWS:
            raise BadRequest(f"A dataset holds at most {MAX_ROWS} rows", code="too_many_rows")
        now = datetime.now(UTC)
        dataset_id = str(uuid.uuid4())
        async with self.database.begin() as conn:
            await conn.execute(
                datasets.insert().values(
                    org_id=org_id,
                    id=dataset_id,
                    name=name,
                    description=description,
                    created_at=now,
                    updated_at=now,
                )
            )
            if rows:
                await conn.execute(dataset_rows.insert(), _row_values(org_id, dataset_id, 0, rows))
        found = await self.get(org_id, dataset_id)
        assert found is not None
        return found

    async def all(self, org_id: str) -> list[Dataset]:
        d = datasets.c
        query = (
            select(
                d.id, d.name, d.description, _COUNT.label("row_count"), d.created_at, d.updated_at
            )
            .where(d.org_id == org_id)
            .order_by(d.created_at.desc(), d.id)
        )
        async with self.database.connect() as conn:
            return [Dataset(*row) for row in (await conn.execute(query)).all()]

    async def get(self, org_id: str, dataset_id: str) -> Dataset | None:
        d = datasets.c
        query = select(
            d.id, d.name, d.description, _COUNT.label("row_count"), d.created_at, d.updated_at
        ).where(d.org_id == org_id, d.id == dataset_id)
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        return Dataset(*row) if row is not None else None

    async def require(self, org_id: str, dataset_id: str) -> Dataset:
        found = await self.get(org_id, dataset_id)
        if found is None:
            raise NotFound(f"No dataset with id {dataset_id!r}")
        return found

    async def rename(self, org_id: str, dataset_id: str, changes: dict[str, str | None]) -> Dataset:
        await self.require(org_id, dataset_id)
        d = datasets.c
        async with self.database.begin() as conn:
            await conn.execute(
                update(datasets)
                .where(d.org_id == org_id, d.id == dataset_id)
                .values(**changes, updated_at=datetime.now(UTC))
            )
        return await self.require(org_id, dataset_id)

    async def delete(self, org_id: str, dataset_id: str) -> None:
        await self.require(org_id, dataset_id)
        async with self.database.begin() as conn:
            r = dataset_rows.c
            await conn.execute(
                delete(dataset_rows).where(r.org_id == org_id, r.dataset_id == dataset_id)
            )
            d = datasets.c
            await conn.execute(delete(datasets).where(d.org_id == org_id, d.id == dataset_id))

    async def rows(
        self, org_id: str, dataset_id: str, *, offset: int = 0, limit: int = MAX_ROWS
    ) -> list[Row]:
        r = dataset_rows.c
        query = (
            select(*_ROW_COLUMNS)
            .where(r.org_id == org_id, r.dataset_id == dataset_id)
            .order_by(r.position, r.id)
            .offset(offset)
            .limit(limit)
        )
        async with self.database.connect() as conn:
            return [Row(*row) for row in (await conn.execute(query)).all()]

    async def row(self, org_id: str, dataset_id: str, row_id: str) -> Row:
        r = dataset_rows.c
        query = select(*_ROW_COLUMNS).where(
            r.org_id == org_id, r.dataset_id == dataset_id, r.id == row_id
        )
        async with self.database.connect() as conn:
            found = (await conn.execute(query)).first()
        if found is None:
            raise NotFound(f"No row with id {row_id!r} in dataset {dataset_id!r}")
        return Row(*found)

    async def add_rows(self, org_id: str, dataset_id: str, rows: Sequence[RowFields]) -> list[Row]:
        """Append ``rows`` after the dataset's last; returns them."""
        dataset = await self.require(org_id, dataset_id)
        if dataset.row_count + len(rows) > MAX_ROWS:
            raise BadRequest(
                f"A dataset holds at most {MAX_ROWS} rows; this one has {dataset.row_count} "
                f"and {len(rows)} more would make {dataset.row_count + len(rows)}",
                code="too_many_rows",
            )
        if not rows:
            return []
        r = dataset_rows.c
        async with self.database.begin() as conn:
            last = (
                await conn.execute(
                    select(func.max(r.position)).where(
                        r.org_id == org_id, r.dataset_id == dataset_id
                    )
                )
            ).scalar_one()
            first = 0 if last is None else last + 1
            values = _row_values(org_id, dataset_id, first, rows)
            await conn.execute(dataset_rows.insert(), values)
            await _touch(conn, org_id, dataset_id)
        ids = [value["id"] for value in values]
        return [await self.row(org_id, dataset_id, row_id) for row_id in ids]

    async def change_row(
        self, org_id: str, dataset_id: str, row_id: str, changes: dict[str, Any]
    ) -> Row:
        await self.row(org_id, dataset_id, row_id)
        r = dataset_rows.c
        async with self.database.begin() as conn:
            await conn.execute(
                update(dataset_rows)
                .where(r.org_id == org_id, r.dataset_id == dataset_id, r.id == row_id)
                .values(**changes, updated_at=datetime.now(UTC))
            )
            await _touch(conn, org_id, dataset_id)
        return await self.row(org_id, dataset_id, row_id)

    async def delete_row(self, org_id: str, dataset_id: str, row_id: str) -> None:
        await self.row(org_id, dataset_id, row_id)
        r = dataset_rows.c
        async with self.database.begin() as conn:
            await conn.execute(
                delete(dataset_rows).where(
                    r.org_id == org_id, r.dataset_id == dataset_id, r.id == row_id
                )
            )
            await _touch(conn, org_id, dataset_id)


_ROW_COLUMNS = (
    dataset_rows.c.id,
    dataset_rows.c.dataset_id,
    dataset_rows.c.position,
    dataset_rows.c.messages,
    dataset_rows.c.output,
    dataset_rows.c.expected,
    dataset_rows.c.request_id,
    dataset_rows.c.model,
    dataset_rows.c.updated_at,
)


def _row_values(
    org_id: str, dataset_id: str, first: int, rows: Sequence[RowFields]
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "org_id": org_id,
            "id": str(uuid.uuid4()),
            "dataset_id": dataset_id,
            "position": first + n,
            "messages": row.messages,
            "output": row.output,
            "expected": row.expected,
            "request_id": row.request_id,
            "model": row.model,
            "created_at": now,
            "updated_at": now,
        }
        for n, row in enumerate(rows)
    ]


async def _touch(conn: Any, org_id: str, dataset_id: str) -> None:
    d = datasets.c
    await conn.execute(
        update(datasets)
        .where(d.org_id == org_id, d.id == dataset_id)
        .values(updated_at=datetime.now(UTC))
    )
