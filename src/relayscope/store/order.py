"""The orders the request listing offers, and the keyset cursors that page them.

A cursor names the last record of a page by its sort value and id, so the next page
is an index range, not an offset. A missing value (a request with no cost or no
token count) sorts as ``MISSING``, below every real one: no value is negative.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

import orjson

from relayscope.record import LogRecord

SORT_COLUMNS = {
    "time": "created_at",
    "latency": "latency_ms",
    "cost": "cost_usd",
    "tokens": "total_tokens",
}
MISSING = -1.0


@dataclass(frozen=True, slots=True)
class Sort:
    by: str = "time"
    ascending: bool = False

    def __post_init__(self) -> None:
        if self.by not in SORT_COLUMNS:
            raise ValueError(f"sort must be one of {', '.join(SORT_COLUMNS)}")

    @property
    def column(self) -> str:
        return SORT_COLUMNS[self.by]

    def value(self, record: LogRecord) -> datetime | float:
        if self.by == "time":
            return record.created_at
        value = getattr(record, self.column)
        return MISSING if value is None else float(value)


NEWEST = Sort()


@dataclass(frozen=True, slots=True)
class Page:
    records: list[LogRecord]
    next_cursor: str | None
    """Reads the next page in the listing's order; None on the last."""
    prev_cursor: str | None = None
    """Reads the page before (``newer=True``); None on the first."""


def _encode(value: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def _decode(cursor: str, length: int) -> list[object]:
    """The JSON list a cursor holds, of ``length`` items; ValueError otherwise."""
    try:
        items = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise ValueError("not a cursor this API returned") from exc
    if not isinstance(items, list) or len(items) != length:
        raise ValueError("not a cursor this API returned")
    return items


def encode_cursor(created_at: datetime, request_id: str) -> str:
    return _encode([created_at.isoformat(), request_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Inverse of ``encode_cursor``; ValueError for anything it did not make."""
    created_at, request_id = _decode(cursor, 2)
    if not isinstance(created_at, str):
        raise ValueError("not a cursor this API returned")
    return datetime.fromisoformat(created_at), str(request_id)


def cursor_for(sort: Sort, record: LogRecord) -> str:
    if sort.by == "time":
        return encode_cursor(record.created_at, record.id)
    return _encode([sort.by, sort.value(record), record.id])


def position(sort: Sort, cursor: str) -> tuple[datetime | float, str]:
    """The (sort value, id) a cursor made for ``sort`` names; ValueError otherwise."""
    if sort.by == "time":
        return decode_cursor(cursor)
    by, value, request_id = _decode(cursor, 3)
    if by != sort.by or not isinstance(value, int | float) or not isinstance(request_id, str):
        raise ValueError("not a cursor of this sort")
    return float(value), request_id


def page_of(
    rows: list[LogRecord], limit: int, cursor: str | None, newer: bool, sort: Sort = NEWEST
) -> Page:
    """The page from ``limit + 1`` rows read in the listing's order, or (``newer``)
    against it from just before ``cursor``: the extra row tells whether there is more
    that way."""
    more = len(rows) > limit
    records = rows[:limit]
    if newer:
        records.reverse()
    if not records:
        return Page([], None)
    after = more if not newer else True  # a page before was reached from one after it
    before = more if newer else cursor is not None
    return Page(
        records,
        cursor_for(sort, records[-1]) if after else None,
        cursor_for(sort, records[0]) if before else None,
    )
