"""What the gateway needs from its stores.

``ConfigStore`` holds orgs and keys (and other features' configuration);
``LogStore`` holds request records. ``SqlStore`` (SQLite, Postgres) is both;
``ClickHouseLogStore`` is a log store only, for deployments whose logs outgrow
a row store while their configuration stays in SQLite or Postgres.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from relayscope.auth.keys import PROXY, Principal
from relayscope.logs.record import LogRecord


class StoreUnavailable(Exception):
    """The store could not be reached or did not answer in time."""


def first_of_each_id(records: Sequence[LogRecord]) -> list[LogRecord]:
    """One record per id, in order: of a ``Helicone-Request-Id`` sent twice in a
    batch, every store keeps the first copy."""
    unique: dict[str, LogRecord] = {}
    for record in records:
        unique.setdefault(record.id, record)
    return list(unique.values())


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


@dataclass(frozen=True, slots=True)
class Page:
    records: list[LogRecord]
    next_cursor: str | None


class LogStore(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    async def insert_requests(self, records: Sequence[LogRecord]) -> int:
        """Insert records, skipping any whose id is already stored (replays are safe).

        Returns how many records were new.
        """

    async def list_requests(
        self, org_id: str, filters: RequestFilter, *, limit: int, cursor: str | None
    ) -> Page: ...
    async def get_request(self, org_id: str, request_id: str) -> LogRecord | None: ...
    async def count_requests(self, org_id: str | None = None) -> int: ...


class ConfigStore(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

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
