"""What the gateway needs from its stores.

``ConfigStore`` holds orgs and keys, and lends the other features its SQL
``database`` for their own tables and the requests' ``scores``; ``LogStore`` holds
request records. ``SqlStore`` (SQLite, Postgres) is both; ``ClickHouseLogStore`` is a
log store only, for deployments whose logs outgrow a row store while their
configuration stays in SQLite or Postgres: what it lacks is absent from its type.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from relayscope.auth.keys import PROXY, Principal
from relayscope.errors import helicone_warning, reused_id_problem
from relayscope.record import LogRecord
from relayscope.store.database import Database
from relayscope.store.order import NEWEST, Page, Sort


class StoreUnavailable(Exception):
    """The store could not be reached or did not answer in time."""


RecordKey = tuple[str, str]
"""(org_id, id): what identifies a record in every store. A ``Helicone-Request-Id``
is the client's to choose, so it is unique within its org only."""


def key_of(record: LogRecord) -> RecordKey:
    return record.org_id, record.id


def keys_to_look_up(
    records: Iterable[LogRecord], *, replacements: bool = False
) -> dict[str, set[str]]:
    """Per org, the ids ``settle_ids`` needs the owners of: each record's id and, with
    ``replacements``, the first ids it would be given if that one is taken. A store
    whose unique key reports the conflicts can leave those out and look again for
    the records that still did not go in."""
    wanted: dict[str, set[str]] = {}
    for record in records:
        ids = wanted.setdefault(record.org_id, set())
        ids.add(record.id)
        if replacements and record.record_uid is not None:
            ids.update(itertools.islice(replacement_ids(record.record_uid), 2))
    return wanted


def settle_ids(
    records: Iterable[LogRecord], stored: Mapping[RecordKey, str | None]
) -> list[LogRecord]:
    """The records to insert, in order, given who owns the keys already stored
    (``stored`` maps each stored key of ``keys_to_look_up`` to its ``record_uid``).

    - A record whose key is stored under its own ``record_uid`` is a replay (the
      spool, a write retried after a timeout): left out. So is one without a
      ``record_uid`` (made before it existed, or exported from such a store) whose
      key is stored at all: the old rule, from when ids were unique.
    - A record whose key belongs to another request takes the first of its
      ``replacement_ids`` that is free, with a ``Helicone-Warning`` saying so: no
      proxied request is lost. Replays walk the same ids, so they end on the one
      the record took and are recognised.

    Renamed records are changed in place, so the writer's hooks see the stored id.
    A key not in ``stored`` is taken as free: the store's unique key is the backstop.
    """
    owners: dict[RecordKey, str | None] = dict(stored)
    fresh = []
    for record in records:
        owner = owners.get(key_of(record), _FREE)
        if owner is not _FREE and (record.record_uid is None or owner == record.record_uid):
            continue
        if owner is not _FREE:
            assert record.record_uid is not None
            reused = record.id
            for candidate in replacement_ids(record.record_uid):
                owner = owners.get((record.org_id, candidate), _FREE)
                if owner is _FREE or owner == record.record_uid:
                    break
            if owner is not _FREE:
                continue
            record.id = candidate
            problem = reused_id_problem(reused, candidate)
            record.warnings.append(helicone_warning("Helicone-Request-Id", problem))
        owners[key_of(record)] = record.record_uid
        fresh.append(record)
    return fresh


_FREE = object()


def replacement_ids(record_uid: str) -> Iterator[str]:
    """The ids a record takes, in turn, when its id is another request's: its own
    ``record_uid`` (a UUID no client has seen yet), then UUIDs derived from it, in
    case a client sent that one as its ``Helicone-Request-Id`` first."""
    yield record_uid
    for n in itertools.count(1):
        yield str(uuid.uuid5(_REPLACEMENTS, f"{record_uid}/{n}"))


_REPLACEMENTS = uuid.UUID("6f1d7c9e-2b7a-4c55-9b0e-5a3c1d2e8f41")


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    org_id: str
    prefix: str
    """The key's first characters, enough to recognise it in a list."""
    name: str | None
    created_at: datetime
    revoked_at: datetime | None
    role: str = PROXY


@dataclass(frozen=True, slots=True)
class ScoreCondition:
    """A request matches when its score ``name`` compares with ``value`` by ``op``."""

    name: str
    op: str
    """One of ``SCORE_OPS``."""
    value: float
    """A boolean score is 1.0 (true) or 0.0 (false)."""


SCORE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")


@dataclass(frozen=True, slots=True)
class TextMatch:
    """A request matches when its text ``field`` equals (``is``) or contains
    (``contains``) ``value``, in any letter case (see ``store.text_match``)."""

    field: str
    """One of ``TEXT_FIELDS``, or ``property:<name>`` for a property's value."""
    op: str
    """One of ``TEXT_OPS``."""
    value: str


TEXT_FIELDS = ("user_id", "model", "request_name", "prompt_id")
TEXT_OPS = ("is", "contains")


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFilter:
    user_id: str | None = None
    session_id: str | None = None
    model: str | None = None
    provider: str | None = None
    status: int | str | None = None
    """An HTTP status code, or "success" / "error" / "rate_limited" / "cached"."""
    request_name: str | None = None
    prompt_id: str | None = None
    prompt_version: int | None = None
    properties: tuple[tuple[str, str], ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    """Words that must all appear in the request or response body."""
    scores: tuple[ScoreCondition, ...] = ()
    """Conditions on the request's scores (``store.scores``), all of which must hold."""
    matches: tuple[TextMatch, ...] = ()
    """Any-case text conditions, all of which must hold (beside the exact ones above)."""


@dataclass(frozen=True, slots=True)
class Counted:
    matched: int
    """Records the filter selects among the ``sampled`` ones."""
    sampled: int
    """The newest records of the filter's time range that were read."""
    exact: bool
    """``sampled`` is every record of the range: ``matched`` is the answer."""


class LogStore(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    async def insert_requests(self, records: Sequence[LogRecord]) -> int:
        """Insert records: replays of stored ones are skipped, and a record whose
        (org, id) another request already has is stored under a fresh id (see
        ``settle_ids``). Returns how many records were new.
        """

    async def list_requests(
        self,
        org_id: str,
        filters: RequestFilter,
        *,
        limit: int,
        cursor: str | None,
        newer: bool = False,
        sort: Sort = NEWEST,
    ) -> Page:
        """A page in ``sort``'s order (newest first by default): the records after
        ``cursor`` (or the first ones), or with ``newer`` the ``limit`` records just
        before it."""
        ...

    async def get_request(self, org_id: str, request_id: str) -> LogRecord | None: ...
    async def get_requests(self, org_id: str, request_ids: Sequence[str]) -> list[LogRecord]:
        """The org's records with these ids, bodies included, in no particular order."""
        ...

    async def count_requests(self, org_id: str | None = None) -> int: ...
    async def count_matching(self, org_id: str, filters: RequestFilter, *, scan: int) -> Counted:
        """How many of the org's records ``filters`` selects. A row store reads at most
        the ``scan`` newest records of the filter's time range: past that, the count is
        of those (``Counted.exact`` false). A column store counts them all."""
        ...


class ConfigStore(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    @property
    def database(self) -> Database:
        """The SQL database features keep their tables in (``store.database``)."""
        ...

    async def ensure_org(self, name: str) -> Org: ...
    async def get_org(self, name: str) -> Org | None: ...
    async def count_orgs(self) -> int: ...
    async def create_key(
        self, org_id: str, name: str | None = None, *, role: str = PROXY
    ) -> tuple[KeyInfo, str]: ...
    async def list_keys(self, org_id: str) -> list[KeyInfo]: ...
    async def revoke_key(self, key_id: str) -> bool: ...
    async def set_key_role(self, key_id: str, role: str) -> bool: ...
    async def lookup_key(self, key_hash: str) -> Principal | None: ...


class Store(ConfigStore, LogStore, Protocol):
    """Configuration and logs in one database (``SqlStore``)."""
