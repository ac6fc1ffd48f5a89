"""``relayscope analytics rebuild`` restores rollups from the request log."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import delete

from relayscope.analytics.repository import Analytics
from relayscope.cli import main
from relayscope.store.base import RequestFilter
from relayscope.store.schema import daily_rollups, model_rollups, request_rollups
from relayscope.store.sql import SqlStore
from relayscope.testing import dataset as ds


def test_rebuild_restores_the_totals(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    whole_day = RequestFilter(since=ds.DAY, until=ds.DAY + timedelta(days=2))

    async def prepare() -> str:
        store = SqlStore(url)
        await store.migrate()
        org = await store.ensure_org("acme")
        await store.insert_requests(ds.dataset(org.id)[:300])
        async with store.database.begin() as conn:
            for rollups in (request_rollups, daily_rollups, model_rollups):
                await conn.execute(delete(rollups))
        await store.close()
        return org.id

    async def requests_counted(org_id: str) -> int:
        store = SqlStore(url)
        try:
            totals = await Analytics(store.database).aggregate(org_id, whole_day)
            return totals[(None, None)].requests if totals else 0
        finally:
            await store.close()

    org_id = asyncio.run(prepare())
    assert asyncio.run(requests_counted(org_id)) == 0
    result = CliRunner().invoke(
        main, ["analytics", "rebuild"], env={"RELAYSCOPE_DATABASE_URL": url}
    )
    assert result.exit_code == 0, result.output
    assert "rebuilt rollups from 300 requests" in result.output
    assert asyncio.run(requests_counted(org_id)) == 300
