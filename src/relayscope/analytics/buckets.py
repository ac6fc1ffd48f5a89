"""Time buckets (UTC minutes, hours, days) in SQL and in Python."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, literal_column

GRANULARITIES = {
    "minute": timedelta(minutes=1),
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
}
# SQLite stores times as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): a bucket is a prefix.
_PREFIX = {"minute": 16, "hour": 13, "day": 10}


def expression(column: Any, granularity: str, dialect: str, *, hourly: bool = False) -> Any:
    """The bucket ``column`` (a UTC timestamp) falls in; the same text as the expression
    indexes on SQLite (literal lengths, so the planner matches them). ``hourly``: the
    column already holds hour starts (rollups), so hour buckets are the column itself."""
    if hourly and granularity == "hour":
        return column
    if dialect == "postgresql":
        return func.date_trunc(literal_column(f"'{granularity}'"), func.timezone("UTC", column))
    return func.substr(column, literal_column("1"), literal_column(str(_PREFIX[granularity])))


def sqlite_prefix(granularity: str) -> int:
    return _PREFIX[granularity]


def sqlite_key(moment: datetime, granularity: str) -> str:
    """The SQLite text of the bucket starting at ``moment``."""
    return utc(moment).strftime("%Y-%m-%d %H:%M:%S")[: _PREFIX[granularity]]


def parse(value: Any) -> datetime:
    """A bucket as the database returned it, as an aware UTC datetime."""
    if isinstance(value, datetime):
        return utc(value)
    return _parse_text(str(value))


@lru_cache(maxsize=8192)
def _parse_text(text: str) -> datetime:
    if len(text) == 13:
        text += ":00"
    return utc(datetime.fromisoformat(text))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def floor(moment: datetime, granularity: str) -> datetime:
    moment = utc(moment)
    if granularity == "minute":
        return moment.replace(second=0, microsecond=0)
    if granularity == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil(moment: datetime, granularity: str) -> datetime:
    start = floor(moment, granularity)
    return start if start == utc(moment) else start + GRANULARITIES[granularity]


def starts(since: datetime, until: datetime, granularity: str) -> Iterator[datetime]:
    """Every bucket that overlaps [since, until)."""
    step = GRANULARITIES[granularity]
    moment = floor(since, granularity)
    while moment < until:
        yield moment
        moment += step


def count(since: datetime, until: datetime, granularity: str) -> int:
    if until <= since:
        return 0
    step = GRANULARITIES[granularity]
    return int((ceil(until, granularity) - floor(since, granularity)) / step)
