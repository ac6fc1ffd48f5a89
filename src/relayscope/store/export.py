"""Copy request records from one store to another (embedded SQLite → Postgres or ClickHouse).

Records are read in (created_at, id) order in batches and inserted with the
destination's own duplicate check, so a copy can be interrupted and run again:
records already there are counted and skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from relayscope.record import LogRecord
from relayscope.store.base import LogStore
from relayscope.store.schema import requests
from relayscope.store.sql import SqlStore, record_from_row


@dataclass(slots=True)
class ExportReport:
    read: int = 0
    written: int = 0

    @property
    def skipped(self) -> int:
        """Records the destination already had."""
        return self.read - self.written


async def iter_records(
    source: SqlStore, *, org_id: str | None = None, batch_size: int = 1000
) -> AsyncIterator[list[LogRecord]]:
    """Every record of ``source`` (or of one org), oldest first, ``batch_size`` at a time."""
    c = requests.c
    after: tuple[datetime | str, str] | None = None
    while True:
        query = select(requests).order_by(c.created_at, c.id).limit(batch_size)
        if org_id is not None:
            query = query.where(c.org_id == org_id)
        if after is not None:
            created_at, last_id = after
            query = query.where(
                or_(c.created_at > created_at, and_(c.created_at == created_at, c.id > last_id))
            )
        async with source.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        if not rows:
            return
        # Keep the raw value for the next bound: SQLite compares the stored text.
        after = (rows[-1]["created_at"], rows[-1]["id"])
        yield [record_from_row(row) for row in rows]


async def export_records(
    source: SqlStore,
    destination: LogStore,
    *,
    org_id: str | None = None,
    batch_size: int = 1000,
    progress: Callable[[ExportReport], None] | None = None,
) -> ExportReport:
    report = ExportReport()
    async for batch in iter_records(source, org_id=org_id, batch_size=batch_size):
        report.written += await destination.insert_requests(batch)
        report.read += len(batch)
        if progress is not None:
            progress(report)
    return report
