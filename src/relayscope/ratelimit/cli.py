"""``relayscope ratelimits``: standing policies, set by the operator on the store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from relayscope.clitools import org_option
from relayscope.config import Settings
from relayscope.ratelimit.policy import PolicyError, parse_policy
from relayscope.ratelimit.repository import PolicyRepository, StandingPolicy
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")


def _run(work: Callable[[SqlStore, PolicyRepository], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(Settings.from_env().store_url)
        try:
            await store.migrate()
            return await work(store, PolicyRepository(store.database))
        finally:
            await store.close()

    return asyncio.run(run())


async def _org_id(store: SqlStore, name: str) -> str:
    org = await store.get_org(name)
    if org is None:
        raise click.ClickException(f"no org named {name!r}")
    return org.id


def _line(item: StandingPolicy) -> str:
    scope = f"key {item.key_id}" if item.key_id else "all keys"
    return f"{item.id}  {item.policy}  {scope}  ({item.policy.describe()})"


@click.group()
def ratelimits() -> None:
    """Standing rate-limit policies (apply with or without the policy header)."""


@ratelimits.command("set")
@org_option()
@click.option("--key", "key_id", default=None, help="Only requests made with this key id.")
@click.option(
    "--policy", "text", required=True, help='e.g. "100;w=60" or "500;w=86400;u=cents;s=user".'
)
def set_policy(org_name: str, key_id: str | None, text: str) -> None:
    """Create a policy, or change the quota of the one with the same key, window, unit
    and segment."""
    try:
        policy = parse_policy(text.strip())
    except PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy") from None

    async def work(store: SqlStore, repository: PolicyRepository) -> tuple[StandingPolicy, bool]:
        org_id = await _org_id(store, org_name)
        if key_id is not None and not await repository.key_in_org(org_id, key_id):
            raise click.BadParameter(f"no key {key_id!r} in org {org_name!r}", param_hint="--key")
        return await repository.set(org_id, policy, key_id)

    item, created = _run(work)
    click.echo(f"{'Created' if created else 'Updated'} policy for org {org_name!r}:")
    click.echo(_line(item))


@ratelimits.command("list")
@org_option()
def list_policies(org_name: str) -> None:
    """List an org's standing policies."""

    async def work(store: SqlStore, repository: PolicyRepository) -> list[StandingPolicy]:
        return await repository.list(await _org_id(store, org_name))

    items = _run(work)
    if not items:
        click.echo(f"org {org_name!r} has no standing rate-limit policies")
    for item in items:
        click.echo(_line(item))


@ratelimits.command("delete")
@click.argument("policy_id")
def delete_policy(policy_id: str) -> None:
    """Delete a policy by id."""

    async def work(_store: SqlStore, repository: PolicyRepository) -> bool:
        return await repository.delete(policy_id)

    if not _run(work):
        raise click.ClickException(f"no rate-limit policy with id {policy_id!r}")
    click.echo(f"deleted {policy_id}")
