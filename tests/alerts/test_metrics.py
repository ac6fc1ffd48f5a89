"""Percentiles from the request log agree with Postgres' own ``percentile_cont``."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import and_, func, select

from relayscope.alerts.metrics import conditions, percentile
from relayscope.alerts.rules import Filters
from relayscope.store.schema import requests

from .conftest import START, record


@pytest.mark.parametrize("store_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("count", [1, 2, 3, 17, 100, 1001])
async def test_percentiles_match_percentile_cont(store, count):
    rng = random.Random(count)
    org_id = f"org-pct-{count}"
    await store.insert_requests(
        [record(org_id, START, latency_ms=round(rng.uniform(1, 5000), 3)) for _ in range(count)]
    )
    where = conditions(org_id, Filters(), START.replace(hour=0), START.replace(hour=23))
    async with store.database.connect() as conn:
        for percent in (50, 95, 99):
            ours = await percentile(conn, where, count, percent)
            theirs = (
                await conn.execute(
                    select(
                        func.percentile_cont(percent / 100).within_group(requests.c.latency_ms)
                    ).where(and_(*where))
                )
            ).scalar_one()
            assert ours == pytest.approx(theirs, rel=1e-9), percent
