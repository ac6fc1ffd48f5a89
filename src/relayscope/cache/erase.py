"""Deleting a user's cached responses, wherever the cache keeps them.

Registered as the ``cache_entries`` hook of ``Governance.delete_user``. An entry
belongs to a user when its source request carried that ``Helicone-User-Id``: entries
record it; entries stored by older versions do not, so for those the source request
is looked up in the store (hooks run before the user's records are deleted).

Sources, each scanned for the org's entries: this process's memory backend, the
embedded store's persisted entries (even when the cache is off or on Redis now: a
past configuration may have left some) and Redis (shared by every replica).
A memory backend in another process is out of reach: the API call reaches one
process, so a memory cache shared by replicas does not exist; use Redis for that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Protocol

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from relayscope.cache.entry import CacheEntry
from relayscope.errors import ServiceUnavailable
from relayscope.store.database import Database
from relayscope.store.schema import requests

log = logging.getLogger("relayscope.cache")

_LOOKUP_BATCH = 500


class Erasable(Protocol):
    def scan(self, org_id: str) -> AsyncIterator[list[tuple[str, CacheEntry]]]: ...
    async def discard(self, slots: Collection[str]) -> int: ...


class CacheEraser:
    def __init__(
        self, sources: Sequence[Erasable], database: Database, *, timeout: float = 60.0
    ) -> None:
        self._sources = sources
        self._database = database
        self._timeout = timeout

    async def delete_user(self, org_id: str, user_id: str) -> int:
        """Remove every entry of the org made from ``user_id``'s requests; how many."""
        removed: set[str] = set()
        for source in self._sources:
            name = type(source).__name__
            try:
                async with asyncio.timeout(self._timeout):
                    async for page in source.scan(org_id):
                        owned = await self._owned(org_id, user_id, page)
                        if owned:
                            await source.discard(owned)
                            removed.update(owned)
            except (RedisError, SQLAlchemyError, OSError, TimeoutError) as exc:
                log.warning("could not delete cache entries from %s: %s", name, exc)
                raise ServiceUnavailable(
                    f"The cache ({name}) is unavailable, so the user's data was not deleted; "
                    "retry when it is back"
                ) from exc
        return len(removed)

    async def _owned(
        self, org_id: str, user_id: str, page: list[tuple[str, CacheEntry]]
    ) -> set[str]:
        owned = {slot for slot, entry in page if entry.user_id == user_id}
        legacy: dict[str, list[str]] = {}
        for slot, entry in page:
            if entry.user_id is None:
                legacy.setdefault(entry.source_id, []).append(slot)
        ids = list(legacy)
        for start in range(0, len(ids), _LOOKUP_BATCH):
            query = select(requests.c.id).where(
                requests.c.org_id == org_id,
                requests.c.user_id == user_id,
                requests.c.id.in_(ids[start : start + _LOOKUP_BATCH]),
            )
            async with self._database.connect() as conn:
                for found in (await conn.execute(query)).scalars():
                    owned.update(legacy[found])
        return owned
