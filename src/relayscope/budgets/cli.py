"""``relayscope teams`` and ``relayscope budgets``: set by the operator on the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import click

from relayscope.budgets.model import LEVELS, Budget, dollars
from relayscope.budgets.periods import PERIODS, RESETS
from relayscope.budgets.repository import BudgetRepository, TeamExists
from relayscope.budgets.spec import SpecError, parse_spec
from relayscope.clitools import org_option
from relayscope.config import Settings
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")


def _run(work: Callable[[SqlStore, BudgetRepository], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(Settings.from_env().store_url)
        try:
            await store.migrate()
            return await work(store, BudgetRepository(store.database))
        finally:
            await store.close()

    return asyncio.run(run())


async def _org_id(store: SqlStore, name: str) -> str:
    org = await store.get_org(name)
    if org is None:
        raise click.ClickException(f"no org named {name!r}")
    return org.id


@click.group()
def teams() -> None:
    """Teams of an org: the gateway keys each holds share the team's budgets."""


@teams.command("create")
@org_option()
@click.argument("name")
def create_team(org_name: str, name: str) -> None:
    """Create a team; prints its id on the last line."""

    async def work(store: SqlStore, repository: BudgetRepository) -> str:
        try:
            return (await repository.create_team(await _org_id(store, org_name), name)).id
        except TeamExists:
            raise click.ClickException(f"org {org_name!r} already has a team {name!r}") from None

    team_id = _run(work)
    click.echo(f"Created team {name!r} in org {org_name!r}:")
    click.echo(team_id)


@teams.command("list")
@org_option()
def list_teams(org_name: str) -> None:
    """List an org's teams and their keys."""

    async def work(store: SqlStore, repository: BudgetRepository) -> list[str]:
        found = await repository.list_teams(await _org_id(store, org_name))
        return [f"{t.id}  {t.name}  keys: {', '.join(t.key_ids) or '-'}" for t in found]

    lines = _run(work)
    if not lines:
        click.echo(f"org {org_name!r} has no teams")
    for line in lines:
        click.echo(line)


@teams.command("add-key")
@org_option()
@click.argument("team_id")
@click.argument("key_id")
def add_key(org_name: str, team_id: str, key_id: str) -> None:
    """Put a gateway key in a team (moving it from any other)."""

    async def work(store: SqlStore, repository: BudgetRepository) -> None:
        org_id = await _org_id(store, org_name)
        if await repository.get_team(org_id, team_id) is None:
            raise click.ClickException(f"no team {team_id!r} in org {org_name!r}")
        if not await repository.key_in_org(org_id, key_id):
            raise click.ClickException(f"no key {key_id!r} in org {org_name!r}")
        await repository.add_key(org_id, team_id, key_id)

    _run(work)
    click.echo(f"key {key_id} is in team {team_id}")


@click.group()
def budgets() -> None:
    """Budgets in USD or tokens per day, week or month, at the org, team, user or key level."""


@budgets.command("set")
@org_option()
@click.option("--level", type=click.Choice(LEVELS), required=True)
@click.option("--target", default=None, help="Team id, user id or key id (not for the org).")
@click.option("--usd", "usd_limit", type=float, default=None, help="US dollars per period.")
@click.option("--tokens", "token_limit", type=int, default=None, help="Tokens per period.")
@click.option("--period", type=click.Choice(PERIODS), default="month", show_default=True)
@click.option("--reset", type=click.Choice(RESETS), default="calendar", show_default=True)
def set_budget(
    org_name: str,
    level: str,
    target: str | None,
    usd_limit: float | None,
    token_limit: int | None,
    period: str,
    reset: str,
) -> None:
    """Create a budget; prints its id on the last line."""
    try:
        spec = parse_spec(
            {
                "level": level,
                "target": target,
                "usd_limit": usd_limit,
                "token_limit": token_limit,
                "period": period,
                "reset": reset,
            }
        )
    except SpecError as exc:
        raise click.UsageError(str(exc)) from None

    async def work(store: SqlStore, repository: BudgetRepository) -> Budget:
        org_id = await _org_id(store, org_name)
        target_id = spec.target or ""
        if level == "team" and await repository.get_team(org_id, target_id) is None:
            raise click.ClickException(f"no team {target_id!r} in org {org_name!r}")
        if level == "key" and not await repository.key_in_org(org_id, target_id):
            raise click.ClickException(f"no key {target_id!r} in org {org_name!r}")
        return await repository.create_budget(org_id, spec)

    budget = _run(work)
    click.echo(f"Created a {budget.period} budget for {budget.describe()} in org {org_name!r}:")
    click.echo(budget.id)


@budgets.command("list")
@org_option()
def list_budgets(org_name: str) -> None:
    """List an org's budgets with what each spent in its current period."""

    async def work(store: SqlStore, repository: BudgetRepository) -> list[str]:
        org_id = await _org_id(store, org_name)
        found = await repository.list_budgets(org_id)
        keys = {t.id: t.key_ids for t in await repository.list_teams(org_id)}
        lines = []
        for budget in found:
            period = budget.window(datetime.now(UTC))
            spent = await repository.logged_spend(budget, period, keys.get(budget.target or "", ()))
            limits = []
            if budget.usd_limit is not None:
                limits.append(f"{dollars(spent.usd)} of {dollars(budget.usd_limit)}")
            if budget.token_limit is not None:
                limits.append(f"{spent.tokens:,} of {budget.token_limit:,} tokens")
            lines.append(
                f"{budget.id}  {budget.describe()}  {budget.period} ({budget.reset})  "
                f"{'; '.join(limits)}  resets {period.end.isoformat()}"
            )
        return lines

    lines = _run(work)
    if not lines:
        click.echo(f"org {org_name!r} has no budgets")
    for line in lines:
        click.echo(line)


@budgets.command("delete")
@org_option()
@click.argument("budget_id")
def delete_budget(org_name: str, budget_id: str) -> None:
    """Delete a budget by id."""

    async def work(store: SqlStore, repository: BudgetRepository) -> bool:
        return await repository.delete_budget(await _org_id(store, org_name), budget_id)

    if not _run(work):
        raise click.ClickException(f"no budget {budget_id!r} in org {org_name!r}")
    click.echo(f"deleted {budget_id}")
