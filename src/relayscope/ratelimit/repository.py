"""Standing policies in the store: set by the operator, per org and optionally per key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update

from relayscope.ratelimit.policy import Policy
from relayscope.store.database import Database
from relayscope.store.schema import api_keys, rate_limit_policies

table = rate_limit_policies


@dataclass(frozen=True, slots=True)
class StandingPolicy:
    id: str
    org_id: str
    key_id: str | None
    """None: every key of the org."""
    policy: Policy
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        policy = self.policy
        return {
            "id": self.id,
            "org_id": self.org_id,
            "key_id": self.key_id,
            "policy": str(policy),
            "quota": policy.quota,
            "window": policy.window,
            "unit": policy.unit,
            "segment": policy.segment,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


class PolicyRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def all(self) -> list[StandingPolicy]:
        async with self._database.connect() as conn:
            rows = (await conn.execute(select(table))).all()
        return [_policy(row) for row in rows]

    async def list(self, org_id: str) -> list[StandingPolicy]:
        query = select(table).where(table.c.org_id == org_id).order_by(table.c.created_at)
        async with self._database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_policy(row) for row in rows]

    async def set(
        self, org_id: str, policy: Policy, key_id: str | None = None
    ) -> tuple[StandingPolicy, bool]:
        """Create the policy, or change the quota of the one with the same key, window,
        unit and segment. True when it was created."""
        now = datetime.now(UTC)
        same = (
            table.c.org_id == org_id,
            _equal(table.c.key_id, key_id),
            table.c.window_seconds == policy.window,
            table.c.unit == policy.unit,
            _equal(table.c.segment, policy.segment),
        )
        async with self._database.begin() as conn:
            row = (await conn.execute(select(table).where(*same))).first()
            if row is not None:
                await conn.execute(
                    update(table)
                    .where(table.c.id == row.id)
                    .values(quota=policy.quota, updated_at=now)
                )
                created_at = _utc(row.created_at)
                return StandingPolicy(row.id, org_id, key_id, policy, created_at, now), False
            policy_id = str(uuid.uuid4())
            await conn.execute(
                table.insert().values(
                    id=policy_id,
                    org_id=org_id,
                    key_id=key_id,
                    quota=policy.quota,
                    window_seconds=policy.window,
                    unit=policy.unit,
                    segment=policy.segment,
                    created_at=now,
                    updated_at=now,
                )
            )
        return StandingPolicy(policy_id, org_id, key_id, policy, now, now), True

    async def delete(self, policy_id: str, org_id: str | None = None) -> bool:
        """Delete by id (within ``org_id`` when given); False when there is none."""
        statement = delete(table).where(table.c.id == policy_id)
        if org_id is not None:
            statement = statement.where(table.c.org_id == org_id)
        async with self._database.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount > 0

    async def key_in_org(self, org_id: str, key_id: str) -> bool:
        query = select(api_keys.c.id).where(api_keys.c.id == key_id, api_keys.c.org_id == org_id)
        async with self._database.connect() as conn:
            return (await conn.execute(query)).first() is not None


def _equal(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value


def _policy(row: Any) -> StandingPolicy:
    policy = Policy(quota=row.quota, window=row.window_seconds, unit=row.unit, segment=row.segment)
    return StandingPolicy(
        row.id, row.org_id, row.key_id, policy, _utc(row.created_at), _utc(row.updated_at)
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
