"""Teams, the keys they hold, budgets and soft-limit alerts in the store; and what the
log store says was spent in a budget's period (the truth counters reconcile to)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.exc import IntegrityError

from relayscope.budgets.model import Budget, Spend, Team
from relayscope.budgets.periods import Window
from relayscope.store.database import Database
from relayscope.store.schema import api_keys, budget_alerts, budgets, requests, team_keys, teams


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """A budget as a caller asks for it (validated by ``budgets.spec``)."""

    level: str
    target: str | None
    usd_limit: float | None
    token_limit: int | None
    period: str
    reset: str


class TeamExists(Exception):
    """The org already has a team of that name."""


class BudgetRepository:
    def __init__(self, database: Database) -> None:
        self._database = database

    # Teams

    async def create_team(self, org_id: str, name: str) -> Team:
        team = Team(str(uuid.uuid4()), org_id, name, datetime.now(UTC))
        try:
            async with self._database.begin() as conn:
                await conn.execute(
                    teams.insert().values(
                        id=team.id, org_id=org_id, name=name, created_at=team.created_at
                    )
                )
        except IntegrityError:
            raise TeamExists(name) from None
        return team

    async def list_teams(self, org_id: str) -> list[Team]:
        async with self._database.connect() as conn:
            rows = (
                await conn.execute(
                    select(teams).where(teams.c.org_id == org_id).order_by(teams.c.name)
                )
            ).all()
            held = (await conn.execute(select(team_keys).where(team_keys.c.org_id == org_id))).all()
        keys: dict[str, list[str]] = {}
        for row in held:
            keys.setdefault(row.team_id, []).append(row.key_id)
        return [_team(row, keys.get(row.id, ())) for row in rows]

    async def get_team(self, org_id: str, team_id: str) -> Team | None:
        return next((t for t in await self.list_teams(org_id) if t.id == team_id), None)

    async def delete_team(self, org_id: str, team_id: str) -> bool:
        """Delete the team, its keys' membership and its budgets."""
        async with self._database.begin() as conn:
            gone = await conn.execute(
                delete(teams).where(teams.c.id == team_id, teams.c.org_id == org_id)
            )
            if not gone.rowcount:
                return False
            await conn.execute(delete(team_keys).where(team_keys.c.team_id == team_id))
            await conn.execute(
                delete(budgets).where(
                    budgets.c.org_id == org_id,
                    budgets.c.level == "team",
                    budgets.c.target == team_id,
                )
            )
        return True

    async def key_in_org(self, org_id: str, key_id: str) -> bool:
        query = select(api_keys.c.id).where(api_keys.c.id == key_id, api_keys.c.org_id == org_id)
        async with self._database.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def add_key(self, org_id: str, team_id: str, key_id: str) -> None:
        """Put ``key_id`` in the team (a key belongs to one team at most: it moves)."""
        async with self._database.begin() as conn:
            await conn.execute(delete(team_keys).where(team_keys.c.key_id == key_id))
            await conn.execute(
                team_keys.insert().values(key_id=key_id, team_id=team_id, org_id=org_id)
            )

    async def remove_key(self, org_id: str, team_id: str, key_id: str) -> bool:
        async with self._database.begin() as conn:
            result = await conn.execute(
                delete(team_keys).where(
                    team_keys.c.key_id == key_id,
                    team_keys.c.team_id == team_id,
                    team_keys.c.org_id == org_id,
                )
            )
        return result.rowcount > 0

    async def key_teams(self) -> dict[str, str]:
        """Every key that belongs to a team, with its team's id."""
        async with self._database.connect() as conn:
            rows = (await conn.execute(select(team_keys.c.key_id, team_keys.c.team_id))).all()
        return {row.key_id: row.team_id for row in rows}

    # Budgets

    async def create_budget(self, org_id: str, spec: BudgetSpec) -> Budget:
        now = datetime.now(UTC)
        budget = Budget(
            str(uuid.uuid4()),
            org_id,
            spec.level,
            spec.target,
            spec.usd_limit,
            spec.token_limit,
            spec.period,
            spec.reset,
            now,
            now,
        )
        async with self._database.begin() as conn:
            await conn.execute(budgets.insert().values(_budget_row(budget)))
        return budget

    async def list_budgets(self, org_id: str | None = None) -> list[Budget]:
        """An org's budgets (every org's when ``org_id`` is None), oldest first."""
        query = select(budgets).order_by(budgets.c.created_at, budgets.c.id)
        if org_id is not None:
            query = query.where(budgets.c.org_id == org_id)
        async with self._database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_budget(row) for row in rows]

    async def get_budget(self, org_id: str, budget_id: str) -> Budget | None:
        query = select(budgets).where(budgets.c.id == budget_id, budgets.c.org_id == org_id)
        async with self._database.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _budget(row)

    async def delete_budget(self, org_id: str, budget_id: str) -> bool:
        async with self._database.begin() as conn:
            result = await conn.execute(
                delete(budgets).where(budgets.c.id == budget_id, budgets.c.org_id == org_id)
            )
            await conn.execute(delete(budget_alerts).where(budget_alerts.c.budget_id == budget_id))
        return result.rowcount > 0

    # Soft-limit alerts

    async def claim_alert(
        self, budget: Budget, start: datetime, threshold: int, spend: Spend
    ) -> bool:
        """Record that ``threshold`` % of ``budget`` was reached in the period from
        ``start``; False when it already was (by this process or another)."""
        try:
            async with self._database.begin() as conn:
                await conn.execute(
                    budget_alerts.insert().values(
                        budget_id=budget.id,
                        period_start=start,
                        threshold=threshold,
                        org_id=budget.org_id,
                        spent_usd=spend.usd,
                        spent_tokens=spend.tokens,
                        sent_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def alerts(self, org_id: str, budget_id: str) -> list[dict[str, Any]]:
        query = (
            select(budget_alerts)
            .where(budget_alerts.c.budget_id == budget_id, budget_alerts.c.org_id == org_id)
            .order_by(budget_alerts.c.sent_at, budget_alerts.c.threshold)
        )
        async with self._database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {
                "threshold": row.threshold,
                "period_start": _utc(row.period_start).isoformat(),
                "spent_usd": row.spent_usd,
                "spent_tokens": row.spent_tokens,
                "sent_at": _utc(row.sent_at).isoformat(),
            }
            for row in rows
        ]

    # The log store's truth

    async def logged_spend(
        self, budget: Budget, period: Window, team_keys_of: Sequence[str] = ()
    ) -> Spend:
        """What the stored records of ``budget``'s owner cost in ``period``: cache hits
        spent nothing, refused requests never reached a provider."""
        hit = requests.c.cache_hit.is_(True)
        conditions = [
            requests.c.org_id == budget.org_id,
            requests.c.created_at >= period.start,
            requests.c.created_at < period.end,
        ]
        if budget.level == "user":
            conditions.append(requests.c.user_id == budget.target)
        elif budget.level == "key":
            conditions.append(requests.c.key_id == budget.target)
        elif budget.level == "team":
            if not team_keys_of:
                return Spend()
            conditions.append(requests.c.key_id.in_(list(team_keys_of)))
        query = select(
            func.coalesce(func.sum(case((hit, 0.0), else_=requests.c.cost_usd)), 0.0),
            func.coalesce(func.sum(case((hit, 0), else_=requests.c.total_tokens)), 0),
        ).where(and_(*conditions))
        async with self._database.connect() as conn:
            usd, tokens = (await conn.execute(query)).one()
        return Spend(float(usd), int(tokens))


def _team(row: Any, key_ids: Sequence[str]) -> Team:
    return Team(row.id, row.org_id, row.name, _utc(row.created_at), tuple(sorted(key_ids)))


def _budget_row(budget: Budget) -> dict[str, Any]:
    return {
        "id": budget.id,
        "org_id": budget.org_id,
        "level": budget.level,
        "target": budget.target,
        "usd_limit": budget.usd_limit,
        "token_limit": budget.token_limit,
        "period": budget.period,
        "reset": budget.reset,
        "created_at": budget.created_at,
        "updated_at": budget.updated_at,
    }


def _budget(row: Any) -> Budget:
    return Budget(
        row.id,
        row.org_id,
        row.level,
        row.target,
        row.usd_limit,
        row.token_limit,
        row.period,
        row.reset,
        _utc(row.created_at),
        _utc(row.updated_at),
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
