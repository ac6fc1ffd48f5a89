"""``relayscope analytics``: maintenance of the analytics rollups."""

from __future__ import annotations

import click

from relayscope.clitools import with_store
from relayscope.store import rollup
from relayscope.store.sql import SqlStore


@click.group("analytics")
def analytics() -> None:
    """Analytics rollups behind the dashboard and /api/analytics."""


@analytics.command("rebuild")
def rebuild() -> None:
    """Recompute every rollup from the request log (e.g. after editing the log by hand)."""

    async def work(store: SqlStore) -> int:
        async with store.database.begin() as conn:
            return await conn.run_sync(rollup.rebuild)

    click.echo(f"rebuilt rollups from {with_store(work)} requests")
