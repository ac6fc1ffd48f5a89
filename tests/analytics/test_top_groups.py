"""A chart by group reads only its top groups' buckets from the store and sums the
rest there: its series are the ones built from every (bucket, group) pair."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.datastructures import QueryParams

from relayscope.analytics import service
from relayscope.analytics.repository import Analytics
from relayscope.store.base import RequestFilter
from relayscope.store.sql import SqlStore
from relayscope.testing.seed import records

END = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("metric", "group_by", "granularity"),
    [
        ("cost", "user", "hour"),
        ("requests", "model", "day"),
        ("error_rate", "property:feature", "hour"),
        ("tokens", "user", "minute"),
    ],
)
async def test_top_groups_and_other_equal_the_series_from_every_pair(
    tmp_path, metric, group_by, granularity
):
    store = SqlStore(f"sqlite:///{tmp_path / 't.db'}")
    try:
        await store.migrate()
        org = await store.ensure_org("a")
        made = list(records(org.id, 3000, days=6, end=END, seed=7, users=40))
        await store.insert_requests(made)
        analytics = Analytics(store.database)
        # partial first and last hours: both the rollups and the log answer
        since, until = END - timedelta(hours=130, minutes=17), END - timedelta(minutes=9)
        if granularity == "minute":
            since = until - timedelta(hours=3)
        query = QueryParams(
            {
                "from": since.isoformat(),
                "to": until.isoformat(),
                "metric": metric,
                "group_by": group_by,
                "granularity": granularity,
                "limit": "4",
            }
        )
        found = await service.timeseries(analytics, org.id, query)
        # the hourly and minute charts have more than FEW_BUCKETS: they read in two steps
        assert (len(found["buckets"]) > service.FEW_BUCKETS) == (granularity != "day")

        f = RequestFilter(since=since, until=until)
        every_pair = await analytics.aggregate(
            org.id, f, group_by=group_by, granularity=granularity
        )
        starts = [datetime.fromisoformat(b) for b in found["buckets"]]
        expected = service._series(every_pair, metric, group_by, 4, starts)
        assert [s["name"] for s in found["series"]] == [s["name"] for s in expected]
        assert found["series"][-1]["name"] == "other"
        for got, want in zip(found["series"], expected, strict=True):
            assert got["values"] == pytest.approx(want["values"]), got["name"]
    finally:
        await store.close()
