"""Pre-aggregated statistics kept next to the request log.

``apply`` runs inside the store's insert transaction (a ``SqlStore`` write hook)
with exactly the records that insert added, so a batch the spool replays, whose
rows are already stored, is never counted twice. Every update is an additive
upsert (``requests = requests + excluded.requests``), so several gateway
processes can write at once. ``rebuild`` recomputes everything from the log.

Tables (``store/schema.py``):

- ``request_rollups``: per org, hour and dimension value: counts, tokens, cost,
  latency sum, first/last request time. Dimensions: "" (all), "model",
  "provider", "user", "prompt" ("<id> v<version>"), "property:<name>".
- ``daily_rollups``: ``request_rollups`` by UTC day, for long ranges.
- ``model_rollups``: the same per model a request matches (its requested and its
  answered model: the model filter matches either), for analytics filtered by model;
  every dimension but the user.
- ``latency_histogram``: per org and hour, requests per latency bin.
- ``session_rollups``: per session, its totals and time span.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import case, delete, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from relayscope import gil
from relayscope.store.schema import (
    daily_rollups,
    latency_histogram,
    model_rollups,
    request_rollups,
    requests,
    session_rollups,
)

MAX_VALUE = 256
"""Dimension values are cut to this many characters in the rollups."""

HISTOGRAM_BASE = 1.2
MIN_BIN = -100
"""Bin of latencies below ``HISTOGRAM_BASE ** (MIN_BIN + 1)`` ms (1e-8 ms), 0 included."""


def latency_bin(latency_ms: float) -> int:
    """The bin ``i`` with ``bin_floor(i) <= latency_ms < bin_floor(i + 1)``."""
    if latency_ms < bin_floor(MIN_BIN + 1):
        return MIN_BIN
    i = max(MIN_BIN + 1, math.floor(math.log(latency_ms) / math.log(HISTOGRAM_BASE)))
    # log() rounding can land one bin off; the edges themselves are the truth.
    while i > MIN_BIN + 1 and latency_ms < bin_floor(i):
        i -= 1
    while latency_ms >= bin_floor(i + 1):
        i += 1
    return i


def bin_floor(i: int) -> float:
    return -math.inf if i <= MIN_BIN else HISTOGRAM_BASE**i


def hour_of(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(minute=0, second=0, microsecond=0)


def model_of(row: Any) -> str:
    return (row.request_model or row.response_model or "")[:MAX_VALUE]


NOT_PER_MODEL = ("user",)
"""Dimensions ``model_rollups`` leaves out: users are many (up to a row per request of
a batch), and a model filter with a user reads the user's index."""


def matched_models(row: Any) -> set[str]:
    """The models a model filter finds ``row`` by, as ``model_rollups`` keeps them."""
    return {m[:MAX_VALUE] for m in (row.request_model, row.response_model) if m is not None}


def is_error(row: Any) -> bool:
    return row.status >= 400 or row.error is not None


@dataclass(slots=True)
class Totals:
    requests: int = 0
    errors: int = 0
    rate_limited: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms_sum: float = 0.0
    cache_read_tokens: int = 0
    cost_saved_usd: float = 0.0
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, row: Any, created_at: datetime) -> None:
        self.requests += 1
        self.errors += is_error(row)
        self.rate_limited += bool(row.rate_limited)
        self.cache_hits += bool(row.cache_hit)
        self.prompt_tokens += row.prompt_tokens or 0
        self.completion_tokens += row.completion_tokens or 0
        self.total_tokens += row.total_tokens or 0
        self.cost_usd += row.cost_usd or 0.0
        self.latency_ms_sum += row.latency_ms
        self.cache_read_tokens += row.cache_read_tokens or 0
        self.cost_saved_usd += row.cost_saved_usd or 0.0
        if self.first_at is None or created_at < self.first_at:
            self.first_at = created_at
        if self.last_at is None or created_at > self.last_at:
            self.last_at = created_at

    def merge(self, other: Totals) -> None:
        for name in _SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.first_at is not None and (self.first_at is None or other.first_at < self.first_at):
            self.first_at = other.first_at
        if other.last_at is not None and (self.last_at is None or other.last_at > self.last_at):
            self.last_at = other.last_at

    def row(self, sums: tuple[str, ...] | None = None) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*(sums or _SUMS), "first_at", "last_at")}


_SUMS = (
    "requests",
    "errors",
    "rate_limited",
    "cache_hits",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
    "latency_ms_sum",
    "cache_read_tokens",
    "cost_saved_usd",
)
_SESSION_SUMS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "cost_usd",
)


@dataclass(slots=True)
class SessionTotals:
    totals: Totals
    name: str | None = None
    user_id: str | None = None
    end_at: datetime | None = None


class Deltas:
    """What a set of new records adds to each rollup row."""

    def __init__(self) -> None:
        self.cells: dict[tuple[str, datetime, tuple[str, ...], str, str], Totals] = {}
        """(org, hour, models matched, dim, value): every rollup row is a sum of these,
        so each record is added once per dimension, whatever the tables."""
        self.histogram: dict[tuple[str, datetime, int], int] = {}
        self.sessions: dict[tuple[str, str], SessionTotals] = {}

    def add(self, row: Any) -> None:
        created_at = row.created_at
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        hour = hour_of(created_at)
        org = row.org_id
        models = tuple(sorted(matched_models(row)))
        for dim, value in _dimensions(row):
            key = (org, hour, () if dim in NOT_PER_MODEL else models, dim, value)
            totals = self.cells.get(key)
            if totals is None:
                totals = self.cells[key] = Totals()
            totals.add(row, created_at)
        bin_key = (org, hour, latency_bin(row.latency_ms))
        self.histogram[bin_key] = self.histogram.get(bin_key, 0) + 1
        if row.session_id:
            session_key = (org, row.session_id)
            session = self.sessions.get(session_key)
            if session is None:
                session = self.sessions[session_key] = SessionTotals(Totals())
            session.totals.add(row, created_at)
            end = created_at + timedelta(milliseconds=row.latency_ms)
            if session.end_at is None or end > session.end_at:
                session.end_at = end
            session.name = row.session_name or session.name
            session.user_id = row.user_id or session.user_id


Hourly = dict[tuple[str, str, datetime, str], Totals]
PerModel = dict[tuple[str, str, str, datetime, str], Totals]


def _tables(deltas: Deltas) -> tuple[Hourly, Hourly, PerModel]:
    """The rows ``deltas`` adds to request_rollups, daily_rollups and model_rollups."""
    hourly: Hourly = {}
    daily: Hourly = {}
    per_model: PerModel = {}
    for (org, hour, models, dim, value), totals in deltas.cells.items():
        _add_to(hourly, (org, dim, hour, value), totals)
        _add_to(daily, (org, dim, hour.replace(hour=0), value), totals)
        for model in models:
            _add_to(per_model, (org, model, dim, hour, value), totals)
    return hourly, daily, per_model


def _add_to(table: dict[Any, Totals], key: Any, totals: Totals) -> None:
    found = table.get(key)
    if found is None:
        table[key] = replace(totals)
    else:
        found.merge(totals)


def _dimensions(row: Any) -> Iterable[tuple[str, str]]:
    yield "", ""
    yield "model", model_of(row)
    yield "provider", row.provider[:MAX_VALUE]
    if row.user_id:
        yield "user", row.user_id[:MAX_VALUE]
    if row.prompt_id is not None and row.prompt_version is not None:
        yield "prompt", f"{row.prompt_id} v{row.prompt_version}"[:MAX_VALUE]
    for name, value in (row.properties or {}).items():
        yield f"property:{name}", str(value)[:MAX_VALUE]


def _insert(dialect: str, table: Any) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def _later(column: Any, new: Any) -> Any:
    return case((new > column, new), else_=column)


def _earlier(column: Any, new: Any) -> Any:
    return case((new < column, new), else_=column)


ALL_TABLES = frozenset(("request_rollups", "daily_rollups", "model_rollups"))


def statements(
    deltas: Deltas,
    dialect: str,
    sums: tuple[str, ...] = _SUMS,
    tables: frozenset[str] = ALL_TABLES,
) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The upserts that add ``deltas``, each with its parameter rows (sorted, so
    concurrent writers lock rows in the same order). ``sums`` and ``tables``: the
    request_rollups columns and the rollup tables to write (a migration's rebuild may
    run before later ones exist)."""
    work: list[tuple[Any, list[dict[str, Any]]]] = []
    hourly, daily, per_model = _tables(deltas)
    for name, table in (("request_rollups", hourly), ("daily_rollups", daily)):
        if table and name in tables:
            rows = [
                {"org_id": org, "dim": dim, "bucket": start, "value": value, **t.row(sums)}
                for (org, dim, start, value), t in sorted(table.items())
            ]
            work.append((_totals_upsert(dialect, name, sums), rows))
    if per_model and "model_rollups" in tables:
        rows = [
            {
                "org_id": org,
                "model": model,
                "dim": dim,
                "bucket": hour,
                "value": value,
                **totals.row(sums),
            }
            for (org, model, dim, hour, value), totals in sorted(per_model.items())
        ]
        work.append((_totals_upsert(dialect, "model_rollups", sums), rows))
    if deltas.histogram:
        rows = [
            {"org_id": org, "bucket": hour, "bin": b, "requests": n}
            for (org, hour, b), n in sorted(deltas.histogram.items())
        ]
        work.append((_histogram_upsert(dialect), rows))
    if deltas.sessions:
        rows = []
        for (org, session_id), s in sorted(deltas.sessions.items()):
            totals = s.totals
            rows.append(
                {
                    "org_id": org,
                    "session_id": session_id,
                    "name": s.name,
                    "user_id": s.user_id,
                    **{name: getattr(totals, name) for name in _SESSION_SUMS},
                    "first_at": totals.first_at,
                    "last_at": totals.last_at,
                    "end_at": s.end_at,
                }
            )
        work.append((_sessions_upsert(dialect), rows))
    return work


def _added_totals(t: Any, new: Any, sums: tuple[str, ...]) -> dict[str, Any]:
    """SET clauses adding a row of ``Totals`` (``new``) to the stored one (``t``)."""
    sets = {name: t[name] + new[name] for name in sums}
    sets["first_at"] = _earlier(t.first_at, new.first_at)
    sets["last_at"] = _later(t.last_at, new.last_at)
    return sets


# The upserts are built once per dialect: SQLAlchemy memoizes a statement's cache
# key on the object, so reusing it skips re-walking these expressions every batch.
_TOTALS_TABLES = {
    "request_rollups": request_rollups,
    "daily_rollups": daily_rollups,
    "model_rollups": model_rollups,
}


@lru_cache
def _totals_upsert(dialect: str, name: str, sums: tuple[str, ...]) -> Any:
    table = _TOTALS_TABLES[name]
    insert = _insert(dialect, table)
    sets = _added_totals(table.c, insert.excluded, sums)
    keys = [column.name for column in table.primary_key.columns]
    return insert.on_conflict_do_update(index_elements=keys, set_=sets)


@lru_cache
def _histogram_upsert(dialect: str) -> Any:
    insert = _insert(dialect, latency_histogram)
    return insert.on_conflict_do_update(
        index_elements=["org_id", "bucket", "bin"],
        set_={"requests": latency_histogram.c.requests + insert.excluded.requests},
    )


@lru_cache
def _sessions_upsert(dialect: str) -> Any:
    insert = _insert(dialect, session_rollups)
    t, new = session_rollups.c, insert.excluded
    sets = _added_totals(t, new, _SESSION_SUMS)
    sets["end_at"] = _later(t.end_at, new.end_at)
    sets["name"] = case((new.name.is_(None), t.name), else_=new.name)
    sets["user_id"] = case((new.user_id.is_(None), t.user_id), else_=new.user_id)
    return insert.on_conflict_do_update(index_elements=["org_id", "session_id"], set_=sets)


def apply(conn: Connection, records: Sequence[Any]) -> None:
    """Add ``records`` (just inserted, in this transaction) to the rollups."""
    deltas = Deltas()
    for record in records:
        gil.pause()
        deltas.add(record)
    for statement, rows in statements(deltas, conn.dialect.name):
        conn.execute(statement, rows)


_REBUILD_COLUMNS = [
    requests.c[name]
    for name in (
        "org_id",
        "created_at",
        "provider",
        "request_model",
        "response_model",
        "status",
        "error",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost_usd",
        "rate_limited",
        "cache_hit",
        "cache_read_tokens",
        "cost_saved_usd",
        "user_id",
        "session_id",
        "session_name",
        "properties",
        "prompt_id",
        "prompt_version",
    )
]


def rebuild(conn: Connection, chunk: int = 50_000) -> int:
    """Recompute every rollup from the request log (synchronous; migrations and CLI)."""
    inspector = inspect(conn)
    # A migration's rebuild may run before later migrations made their tables.
    tables = [
        table
        for table in (
            request_rollups,
            daily_rollups,
            model_rollups,
            latency_histogram,
            session_rollups,
        )
        if inspector.has_table(table.name)
    ]
    for table in tables:
        conn.execute(delete(table))
    # Options on the statement: on the connection they would stay for the
    # migration's later statements.
    result = conn.execute(
        select(*_REBUILD_COLUMNS).execution_options(stream_results=True, yield_per=chunk)
    )
    deltas = Deltas()
    count = 0
    for row in result:
        deltas.add(row)
        count += 1
    if conn.dialect.name == "postgresql":
        # The driver leaves the server-side cursor open until the transaction ends,
        # and while it is open no later migration in this transaction may alter
        # ``requests``.
        conn.exec_driver_sql("CLOSE ALL")
    present = {column["name"] for column in inspector.get_columns("request_rollups")}
    sums = tuple(name for name in _SUMS if name in present)
    names = frozenset(table.name for table in tables)
    for statement, rows in statements(deltas, conn.dialect.name, sums, names):
        for start in range(0, len(rows), chunk):
            conn.execute(statement, rows[start : start + chunk])
    return count
