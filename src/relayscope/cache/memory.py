"""In-process backend: entries in an LRU bounded by bytes, optionally persisted."""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Collection

from relayscope.cache.backend import Accept, Found, LazyIndex, Vector, slot_index, slot_key
from relayscope.cache.entry import CacheEntry
from relayscope.cache.persist import CachePersistence
from relayscope.cache.stats import CacheStats


class MemoryBackend:
    def __init__(
        self,
        *,
        max_bytes: int,
        stats: CacheStats,
        max_per_partition: int = 100_000,
        persistence: CachePersistence | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._slots: OrderedDict[str, CacheEntry] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._stats = stats
        self._index = LazyIndex(max_per_partition)
        self._persistence = persistence
        self._clock = clock

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._slots)

    async def start(self) -> None:
        if self._persistence is None:
            return
        await self._persistence.start()
        for slot, entry, vector in await self._persistence.load(self._clock(), self._max_bytes):
            self._put(slot, entry, vector, persist=False)

    async def close(self) -> None:
        if self._persistence is not None:
            await self._persistence.close()

    async def lookup(self, key: str, bucket_size: int) -> Found | None:
        for idx in range(bucket_size):
            if self._live(slot_key(key, idx)) is None:
                return None
        idx = random.randrange(bucket_size) if bucket_size > 1 else 0
        slot = slot_key(key, idx)
        self._slots.move_to_end(slot)
        return Found(self._slots[slot], idx)

    async def store(
        self, key: str, bucket_size: int, entry: CacheEntry, vector: Vector | None
    ) -> int | None:
        for idx in range(bucket_size):
            slot = slot_key(key, idx)
            if self._live(slot) is None:
                self._put(slot, entry, vector, persist=True)
                return idx
        return None

    async def nearest(
        self, vector: Vector, threshold: float, accept: Accept
    ) -> tuple[Found, float] | None:
        now = self._clock()
        for slot, score in self._index.search(vector.partition, vector.values, threshold, now):
            entry = self._live(slot)
            if entry is not None:
                if not accept(entry):
                    continue
                self._slots.move_to_end(slot)
                return Found(entry, slot_index(slot)), score
            self._index.remove(slot)
        return None

    async def scan(self, org_id: str) -> AsyncIterator[list[tuple[str, CacheEntry]]]:
        """The org's entries, as (slot, entry); for deleting a user's data."""
        prefix = f"{org_id}:"
        yield [(slot, entry) for slot, entry in self._slots.items() if slot.startswith(prefix)]

    async def discard(self, slots: Collection[str]) -> int:
        """Drop ``slots`` (and their persisted rows); how many were held."""
        held = [slot for slot in slots if slot in self._slots]
        for slot in held:
            self._drop(slot)
        if held and self._persistence is not None:
            await self._persistence.flush()
        return len(held)

    def _live(self, slot: str) -> CacheEntry | None:
        entry = self._slots.get(slot)
        if entry is not None and entry.expires_at <= self._clock():
            self._drop(slot)
            return None
        return entry

    def _put(self, slot: str, entry: CacheEntry, vector: Vector | None, *, persist: bool) -> None:
        if slot in self._slots:
            self._drop(slot)
        self._slots[slot] = entry
        self._bytes += entry.size
        if vector is not None:
            self._index.add(vector.partition, slot, vector.values, entry.expires_at)
        if persist and self._persistence is not None:
            self._persistence.put(slot, entry, vector)
        while self._bytes > self._max_bytes and self._slots:
            oldest = next(iter(self._slots))
            self._drop(oldest)
            self._stats.org(oldest.split(":", 1)[0]).evictions += 1

    def _drop(self, slot: str) -> None:
        entry = self._slots.pop(slot)
        self._bytes -= entry.size
        self._index.remove(slot)
        if self._persistence is not None:
            self._persistence.delete(slot)
