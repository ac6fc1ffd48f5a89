"""Store a batch; when the store refuses it, find the records it refuses.

A store that is down refuses every batch, and the writer spools them for later.
A store that refuses one record's values (an integer no column holds, a string
where a number goes, a constraint) refuses every batch that record is in: the
batch is tried again in halves until each refused record stands alone. The rest
are stored; the refused ones are handed back, to be kept as dead letters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import asyncpg

from relayscope.record import LogRecord
from relayscope.store.base import StoreUnavailable

Insert = Callable[[list[LogRecord]], Awaitable[object]]

_DATA_SQLSTATE_CLASSES = ("22", "23")
"""Postgres: data exception, integrity constraint violation."""
_MAX_CAUSES = 16


@dataclass(slots=True)
class Outcome:
    stored: list[LogRecord] = field(default_factory=list)
    refused: list[tuple[LogRecord, str]] = field(default_factory=list)
    """Records the store refused on their own, each with the store's reason."""
    unstored: list[LogRecord] = field(default_factory=list)
    """Records not stored because the store went down (to spool)."""
    outage: Exception | None = None


async def store_isolating(insert: Insert, records: list[LogRecord]) -> Outcome:
    """``insert(records)``; on refusal, again in halves, down to the refused records."""
    outcome = Outcome()
    await _attempt(insert, records, outcome)
    return outcome


async def _attempt(insert: Insert, records: list[LogRecord], outcome: Outcome) -> None:
    if outcome.outage is not None:
        outcome.unstored.extend(records)
        return
    try:
        await insert(records)
    except Exception as exc:
        if is_outage(exc):
            outcome.outage = exc
            outcome.unstored.extend(records)
        elif len(records) == 1:
            outcome.refused.append((records[0], describe(exc)))
        else:
            half = len(records) // 2
            await _attempt(insert, records[:half], outcome)
            await _attempt(insert, records[half:], outcome)
        return
    outcome.stored.extend(records)


def is_outage(exc: BaseException) -> bool:
    """Whether a failed insert says the store is unreachable or slow, not that data is bad."""
    if isinstance(exc, TimeoutError | OSError):
        return True
    if not isinstance(exc, StoreUnavailable):
        return False  # the driver refused a value before the store saw it
    return not any(_refuses_data(cause) for cause in _causes(exc))


def describe(exc: BaseException) -> str:
    causes = list(_causes(exc))
    deepest = causes[-1]
    text = str(deepest).splitlines()[0] if str(deepest) else ""
    return f"{type(deepest).__name__}: {text}"[:500]


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    for _ in range(_MAX_CAUSES):
        if seen is None:
            return
        yield seen
        orig = getattr(seen, "orig", None)  # SQLAlchemy's wrapped DB-API error
        seen = orig if isinstance(orig, BaseException) else seen.__cause__


def _refuses_data(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return True
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.InterfaceError):
        return "binding parameter" in str(exc).lower()
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", None) or ""
        return sqlstate.startswith(_DATA_SQLSTATE_CLASSES)
    return isinstance(exc, TypeError | ValueError | OverflowError) and not isinstance(exc, OSError)
