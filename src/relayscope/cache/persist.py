"""Memory backend entries kept in the embedded store, so a restart keeps the cache.

Writes never happen on a request: ``put``/``delete`` record the change and a
background task writes the changes in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Collection
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError

from relayscope.cache.backend import Vector
from relayscope.cache.entry import CacheEntry
from relayscope.store.database import Database
from relayscope.store.schema import cache_entries

log = logging.getLogger("relayscope.cache")

_BATCH = 500


class CachePersistence:
    def __init__(self, database: Database, *, flush_interval: float = 0.2) -> None:
        self._database = database
        self._flush_interval = flush_interval
        self._pending: dict[str, tuple[CacheEntry, Vector | None, float] | None] = {}
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cache-persistence")

    async def close(self) -> None:
        self._closing.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

    def put(self, slot: str, entry: CacheEntry, vector: Vector | None) -> None:
        self._pending[slot] = (entry, vector, time.time())
        self._wake.set()

    def delete(self, slot: str) -> None:
        self._pending[slot] = None
        self._wake.set()

    async def load(self, now: float, max_bytes: int) -> list[tuple[str, CacheEntry, Vector | None]]:
        """Live entries, newest first up to ``max_bytes``, returned oldest first."""
        table = cache_entries
        query = (
            select(table.c.slot, table.c.size, table.c.payload, table.c.partition, table.c.vector)
            .where(table.c.expires_at > now)
            .order_by(table.c.created_at.desc())
        )
        import numpy as np

        loaded: list[tuple[str, CacheEntry, Vector | None]] = []
        total = 0
        async with self._database.begin() as conn:
            await conn.execute(delete(table).where(table.c.expires_at <= now))
            for row in await conn.execute(query):
                total += row.size
                if total > max_bytes:
                    break
                vector = None
                if row.partition is not None and row.vector is not None:
                    vector = Vector(row.partition, np.frombuffer(row.vector, dtype=np.float32))
                loaded.append((row.slot, CacheEntry.loads(row.payload), vector))
        loaded.reverse()
        return loaded

    async def scan(
        self, org_id: str, *, page: int = _BATCH
    ) -> AsyncIterator[list[tuple[str, CacheEntry]]]:
        """The org's stored entries, a page at a time (slot order)."""
        table = cache_entries
        last = ""
        while True:
            query = (
                select(table.c.slot, table.c.payload)
                .where(table.c.org_id == org_id, table.c.slot > last)
                .order_by(table.c.slot)
                .limit(page)
            )
            async with self._database.connect() as conn:
                rows = (await conn.execute(query)).all()
            if rows:
                yield [(row.slot, CacheEntry.loads(row.payload)) for row in rows]
                last = rows[-1].slot
            if len(rows) < page:
                return

    async def discard(self, slots: Collection[str]) -> int:
        """Delete the rows of ``slots`` now; how many there were."""
        wanted = list(slots)
        deleted = 0
        async with self._database.begin() as conn:
            for start in range(0, len(wanted), _BATCH):
                chunk = wanted[start : start + _BATCH]
                result = await conn.execute(
                    delete(cache_entries).where(cache_entries.c.slot.in_(chunk))
                )
                deleted += result.rowcount
        return deleted

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        slots = list(pending)
        rows = [_row(slot, *change) for slot, change in pending.items() if change is not None]
        try:
            async with self._database.begin() as conn:
                for start in range(0, len(slots), _BATCH):
                    chunk = slots[start : start + _BATCH]
                    await conn.execute(delete(cache_entries).where(cache_entries.c.slot.in_(chunk)))
                if rows:
                    await conn.execute(insert(cache_entries), rows)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not persist %d cache changes: %s", len(pending), exc)

    async def _run(self) -> None:
        while not self._closing.is_set():
            await self._wake.wait()
            self._wake.clear()
            # Gather the changes of a short while into one transaction.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self._flush_interval)
            await self.flush()


def _row(slot: str, entry: CacheEntry, vector: Vector | None, created_at: float) -> dict[str, Any]:
    return {
        "slot": slot,
        "org_id": slot.split(":", 1)[0],
        "created_at": created_at,
        "expires_at": entry.expires_at,
        "size": entry.size,
        "payload": entry.dumps(),
        "partition": vector.partition if vector is not None else None,
        "vector": vector.values.astype("float32").tobytes() if vector is not None else None,
    }
