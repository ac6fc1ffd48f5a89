"""Percentiles by linear interpolation between closest ranks (Postgres' percentile_cont)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayscope.analytics.percentiles import from_sorted, position
from relayscope.analytics.repository import Analytics
from relayscope.store.base import RequestFilter
from relayscope.store.sql import SqlStore
from relayscope.testing.seeding import make_record


def test_known_values():
    assert from_sorted([float(v) for v in range(1, 101)]) == pytest.approx([50.5, 95.05, 99.01])
    assert from_sorted([7.0]) == [7.0, 7.0, 7.0]
    assert from_sorted([1.0, 3.0]) == pytest.approx([2.0, 2.9, 2.98])


def test_position():
    assert position(0.5, 5) == (2, 0.0)
    assert position(0.99, 101) == (99, 0.0)


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=2))
def test_matches_the_stdlib(values):
    values.sort()
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    assert from_sorted(values) == pytest.approx([cuts[49], cuts[94], cuts[98]], rel=1e-9, abs=1e-6)


async def test_whole_hours_on_sqlite_are_read_from_the_latency_histograms(tmp_path):
    """The hourly latency histograms give the whole hours of a range (warnings are errors
    here: the read once used a method SQLAlchemy 2.1 deprecates, and failed in-process)."""
    hour = datetime(2026, 3, 1, 10, tzinfo=UTC)
    store = SqlStore(f"sqlite:///{tmp_path}/latency.db")
    try:
        await store.migrate()
        org = await store.ensure_org("latency")
        await store.insert_requests(
            [
                make_record(org.id, hour + timedelta(minutes=5 * n), latency_ms=100.0)
                for n in range(6)
            ]
        )
        window = RequestFilter(since=hour, until=hour + timedelta(hours=2))
        found = await Analytics(store.database).latency(org.id, window, granularity="hour")
    finally:
        await store.close()
    assert found[(hour, None)][0] == 6
    assert found[(hour, None)][1][0] == pytest.approx(100.0, rel=0.1)
