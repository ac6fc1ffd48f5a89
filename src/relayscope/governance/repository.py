"""Governance queries: retention settings, redaction rules, deleting and exporting records."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update

from relayscope.governance.redaction import REPLACEMENT, Rule
from relayscope.record import LogRecord
from relayscope.store import scores
from relayscope.store.database import Database
from relayscope.store.schema import (
    org_settings,
    orgs,
    redaction_rules,
    request_scores,
    requests,
)
from relayscope.store.sql import record_from_row


class GovernanceRepository:
    def __init__(self, database: Database, *, records_here: bool = True) -> None:
        self.database = database
        self.records_here = records_here
        """The request records are in ``database`` (not in ClickHouse): a score whose
        record is not there is an orphan."""

    async def set_retention(self, org_id: str, days: int | None) -> None:
        async with self.database.begin() as conn:
            changed = await conn.execute(
                update(org_settings)
                .where(org_settings.c.org_id == org_id)
                .values(retention_days=days)
            )
            if changed.rowcount == 0:
                await conn.execute(org_settings.insert().values(org_id=org_id, retention_days=days))

    async def retention(self) -> dict[str, int]:
        """Retention days by org, for orgs that set one."""
        query = select(org_settings.c.org_id, org_settings.c.retention_days).where(
            org_settings.c.retention_days.is_not(None)
        )
        async with self.database.connect() as conn:
            return {row.org_id: row.retention_days for row in await conn.execute(query)}

    async def org_ids(self) -> list[str]:
        async with self.database.connect() as conn:
            return list((await conn.execute(select(orgs.c.id))).scalars())

    async def add_rule(
        self, org_id: str, kind: str, value: str, replacement: str = REPLACEMENT
    ) -> Rule:
        rule = Rule(id=str(uuid.uuid4()), kind=kind, value=value, replacement=replacement)
        async with self.database.begin() as conn:
            await conn.execute(
                redaction_rules.insert().values(
                    id=rule.id,
                    org_id=org_id,
                    kind=kind,
                    value=value,
                    replacement=replacement,
                    created_at=datetime.now(UTC),
                )
            )
        return rule

    async def rules(self, org_id: str | None = None) -> list[tuple[str, Rule]]:
        query = select(redaction_rules).order_by(redaction_rules.c.created_at)
        if org_id is not None:
            query = query.where(redaction_rules.c.org_id == org_id)
        async with self.database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(r.org_id, Rule(r.id, r.kind, r.value, r.replacement)) for r in rows]

    async def delete_rule(self, org_id: str, rule_id: str) -> bool:
        async with self.database.begin() as conn:
            result = await conn.execute(
                delete(redaction_rules).where(
                    redaction_rules.c.org_id == org_id, redaction_rules.c.id == rule_id
                )
            )
        return result.rowcount > 0

    async def delete_requests(
        self,
        org_id: str,
        *,
        user_id: str | None = None,
        before: datetime | None = None,
        batch: int = 1000,
    ) -> int:
        """Delete matching records and their scores in batches (short transactions);
        returns how many records."""
        conditions = [requests.c.org_id == org_id]
        if user_id is not None:
            conditions.append(requests.c.user_id == user_id)
        if before is not None:
            conditions.append(requests.c.created_at < before)
        total = 0
        while True:
            async with self.database.begin() as conn:
                ids = list(
                    (await conn.execute(select(requests.c.id).where(*conditions).limit(batch)))
                    .scalars()
                    .all()
                )
                # Ids are unique per org only: the org bounds both deletes as well.
                await conn.execute(
                    delete(request_scores).where(
                        request_scores.c.org_id == org_id, request_scores.c.request_id.in_(ids)
                    )
                )
                deleted = (
                    await conn.execute(
                        delete(requests).where(requests.c.org_id == org_id, requests.c.id.in_(ids))
                    )
                ).rowcount
            total += deleted
            if len(ids) < batch:
                return total

    async def delete_orphan_scores(self, org_id: str, before: datetime) -> int:
        """Scores last changed before ``before`` whose record is not stored (it never
        arrived, or another process removed it): retention removes them too. With the
        records elsewhere, none is known to be one."""
        if not self.records_here:
            return 0
        return await scores.delete_orphans(self.database, org_id, before)

    async def export(
        self, org_id: str, *, user_id: str | None = None, page: int = 500
    ) -> AsyncIterator[tuple[LogRecord, list[dict[str, Any]]]]:
        """Every matching record and its scores (``scores.of_request``), oldest first,
        fetched a page at a time."""
        last: tuple[datetime, str] | None = None
        while True:
            query = select(requests).where(requests.c.org_id == org_id)
            if user_id is not None:
                query = query.where(requests.c.user_id == user_id)
            if last is not None:
                query = query.where(
                    (requests.c.created_at > last[0])
                    | ((requests.c.created_at == last[0]) & (requests.c.id > last[1]))
                )
            query = query.order_by(requests.c.created_at, requests.c.id).limit(page)
            async with self.database.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
            held = await scores.of_requests(self.database, org_id, [row["id"] for row in rows])
            for row in rows:
                record = record_from_row(row)
                yield record, held.get(record.id, [])
            if len(rows) < page:
                return
            last = (rows[-1]["created_at"], rows[-1]["id"])
