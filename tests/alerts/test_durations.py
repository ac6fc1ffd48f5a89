"""Window and cooldown durations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayscope.alerts.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1w", 604800), ("1h30m", 5400)],
)
def test_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m", "5 minutes", "-5m", "0m", "5x", "1.5h"])
def test_parse_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**8))
def test_format_reads_back(seconds):
    assert parse_duration(format_duration(seconds)) == seconds
