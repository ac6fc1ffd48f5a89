"""Percentiles by linear interpolation between closest ranks (Postgres' percentile_cont)."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayscope.analytics.percentiles import from_sorted, position


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
