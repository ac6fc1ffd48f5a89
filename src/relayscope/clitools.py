"""Helpers for CLI commands: run async work against the configured store."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from relayscope.config import Settings
from relayscope.store.base import Org
from relayscope.store.sql import SqlStore, open_store

T = TypeVar("T")


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
