"""Helpers for CLI commands: run async work against the configured store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy import select

from relayscope.config import Settings
from relayscope.store.base import Org
from relayscope.store.schema import orgs
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def with_store(work: Callable[[SqlStore], Awaitable[T]]) -> T:
    """Open the configured store (migrated), run ``work`` on it, close it."""

    async def run() -> T:
        store = open_store(Settings.from_env().store_url)
        try:
            await store.migrate()
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


async def existing_org(store: SqlStore, name: str) -> Org:
    org = await store.get_org(name)
    if org is None:
        raise click.ClickException(f"no org named {name!r}")
    return org


LISTED_ORGS = 20
"""At most this many org names in the error that asks for --org."""


def org_option(help_text: str = "Org name.") -> Callable[[F], F]:
    """``--org NAME``, which may be left out when the store holds exactly one org.

    The default is resolved while the command line is parsed, so commands always get a
    name; which org was chosen is said on standard error (standard output may be data).
    """
    return click.option(
        "--org",
        "org_name",
        default=None,
        callback=_only_org_by_default,
        help=f"{help_text} Default: the only org, when the store has exactly one.",
    )


def _only_org_by_default(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str:
    if value is not None:
        return value
    names, total = with_store(_first_org_names)
    if total == 1:
        click.echo(f"org {names[0]!r} (the only org; --org chooses another)", err=True)
        return names[0]
    if not total:
        raise click.UsageError(
            "Missing option '--org': the store has no orgs yet (`relayscope serve` creates "
            "'default' on first start; `relayscope keys create --org NAME` creates one)."
        )
    shown = ", ".join(repr(name) for name in names)
    more = f" and {total - len(names)} more" if total > len(names) else ""
    raise click.UsageError(
        f"Missing option '--org': the store has {total} orgs, name one: {shown}{more}."
    )


async def _first_org_names(store: SqlStore) -> tuple[list[str], int]:
    """The first ``LISTED_ORGS`` org names (sorted) and how many orgs there are."""
    query = select(orgs.c.name).order_by(orgs.c.name).limit(LISTED_ORGS)
    async with store.database.connect() as conn:
        names = list((await conn.execute(query)).scalars())
    return names, await store.count_orgs()
