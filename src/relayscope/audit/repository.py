"""Persistence of the audit log, in the SQL store (whichever store holds the logs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Row

from relayscope.api.params import bad
from relayscope.audit.entry import AuditEntry
from relayscope.store.database import Database
from relayscope.store.schema import api_keys, audit_log

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class Change:
    """What the API saw of one admin call."""

    org_id: str
    actor_key_id: str
    actor_role: str
    via: str
    client: str | None
    method: str
    path: str
    status: int
    detail: object


class AuditLog:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, change: Change, *, at: datetime | None = None) -> AuditEntry:
        async with self.database.begin() as conn:
            name = (
                await conn.execute(
                    select(api_keys.c.name).where(
                        api_keys.c.id == change.actor_key_id, api_keys.c.org_id == change.org_id
                    )
                )
            ).scalar_one_or_none()
            entry = AuditEntry(
                id=str(uuid.uuid4()),
                org_id=change.org_id,
                at=at or datetime.now(UTC),
                actor_key_id=change.actor_key_id,
                actor_name=name,
                actor_role=change.actor_role,
                via=change.via,
                client=change.client,
                method=change.method,
                path=change.path[:500],
                status=change.status,
                detail=change.detail,
            )
            await conn.execute(
                audit_log.insert().values(
                    id=entry.id,
                    org_id=entry.org_id,
                    at=entry.at,
                    actor_key_id=entry.actor_key_id,
                    actor_name=entry.actor_name,
                    actor_role=entry.actor_role,
                    via=entry.via,
                    client=entry.client,
                    method=entry.method,
                    path=entry.path,
                    status=entry.status,
                    detail=entry.detail,
                )
            )
        return entry

    async def list(
        self, org_id: str, *, limit: int = 50, before: str | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        """The org's entries, newest first, and the cursor of the next (older) page."""
        query = select(audit_log).where(audit_log.c.org_id == org_id)
        if before is not None:
            at, entry_id = parse_cursor(before)
            query = query.where(
                or_(audit_log.c.at < at, and_(audit_log.c.at == at, audit_log.c.id < entry_id))
            )
        query = query.order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit + 1)
        async with self.database.connect() as conn:
            rows = (await conn.execute(query)).all()
        entries = [_entry(row) for row in rows[:limit]]
        more = len(rows) > limit
        return entries, cursor(entries[-1]) if more and entries else None


def cursor(entry: AuditEntry) -> str:
    return f"{entry.at.isoformat()}|{entry.id}"


def parse_cursor(value: str) -> tuple[datetime, str]:
    at, _, entry_id = value.partition("|")
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError:
        parsed = None
    if parsed is None or not entry_id:
        raise bad("before", "must be the 'next' cursor of a previous page")
    # Stored times are UTC and SQLite compares them as text: the bound must be UTC too.
    return (parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)), entry_id


def _entry(row: Row[tuple[object, ...]]) -> AuditEntry:
    at: datetime = row.at
    return AuditEntry(
        id=row.id,
        org_id=row.org_id,
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
        actor_key_id=row.actor_key_id,
        actor_name=row.actor_name,
        actor_role=row.actor_role,
        via=row.via,
        client=row.client,
        method=row.method,
        path=row.path,
        status=row.status,
        detail=row.detail,
    )
