"""Calendar periods start on UTC boundaries; rolling ones repeat from the budget's creation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from relayscope.budgets.periods import window


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


CREATED = at(2026, 3, 10, 15, 0)


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("day", at(2026, 3, 31, 23, 59), at(2026, 3, 31), at(2026, 4, 1)),
        ("week", at(2026, 3, 8, 12), at(2026, 3, 2), at(2026, 3, 9)),  # a Sunday
        ("week", at(2026, 3, 9), at(2026, 3, 9), at(2026, 3, 16)),  # Monday midnight
        ("month", at(2026, 2, 28, 23), at(2026, 2, 1), at(2026, 3, 1)),
        ("month", at(2026, 12, 31, 23), at(2026, 12, 1), at(2027, 1, 1)),
    ],
)
def test_calendar_periods(period, now, start, end):
    found = window(period, "calendar", CREATED, now)
    assert (found.start, found.end) == (start, end)


def test_a_calendar_period_is_in_utc_whatever_the_clock_zone():
    tokyo = timezone(timedelta(hours=9))
    found = window("day", "calendar", CREATED, datetime(2026, 4, 1, 8, 0, tzinfo=tokyo))
    assert found.start == at(2026, 3, 31)


@pytest.mark.parametrize(
    ("period", "now", "start"),
    [
        ("day", at(2026, 3, 10, 15, 0), at(2026, 3, 10, 15, 0)),
        ("day", at(2026, 3, 11, 14, 59), at(2026, 3, 10, 15, 0)),
        ("day", at(2026, 3, 11, 15, 0), at(2026, 3, 11, 15, 0)),
        ("week", at(2026, 3, 24, 16, 0), at(2026, 3, 24, 15, 0)),
        ("month", at(2026, 4, 9, 15, 0), at(2026, 4, 9, 15, 0)),
    ],
)
def test_rolling_periods_repeat_from_the_creation(period, now, start):
    found = window(period, "rolling", CREATED, now)
    length = {"day": 1, "week": 7, "month": 30}[period]
    assert found.start == start and found.end == start + timedelta(days=length)
