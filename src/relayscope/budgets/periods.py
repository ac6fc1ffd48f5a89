"""The period a budget counts spend over, for any moment.

A calendar period starts on UTC boundaries: midnight, Monday midnight, the 1st of
the month. A rolling period is the same length again and again from the moment the
budget was created (a day, 7 days, 30 days), so a budget made at 15:00 resets at
15:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

PERIODS = ("day", "week", "month")
RESETS = ("calendar", "rolling")
_ROLLING = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


@dataclass(frozen=True, slots=True)
class Window:
    """One period of a budget: spend counts from ``start`` until ``end``."""

    start: datetime
    end: datetime

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (self.end - now).total_seconds())


def window(period: str, reset: str, anchor: datetime, now: datetime) -> Window:
    """The ``period`` (calendar or rolling ``reset``) holding ``now``; a rolling one
    counts from ``anchor``."""
    now = now.astimezone(UTC)
    if reset == "rolling":
        length = _ROLLING[period]
        anchor = anchor.astimezone(UTC)
        elapsed = max(timedelta(0), now - anchor)
        start = anchor + length * (elapsed // length)
        return Window(start, start + length)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return Window(day, day + timedelta(days=1))
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return Window(start, start + timedelta(days=7))
    start = day.replace(day=1)
    following = start.replace(year=start.year + 1, month=1) if start.month == 12 else None
    return Window(start, following or start.replace(month=start.month + 1))
