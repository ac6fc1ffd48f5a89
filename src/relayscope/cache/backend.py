"""What the cache stage needs from a place to keep entries (memory or Redis)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from relayscope.cache.entry import CacheEntry

if TYPE_CHECKING:
    import numpy as np

    from relayscope.cache.index import VectorIndex


class CacheUnavailable(Exception):
    """The backend cannot answer now; the request goes on without the cache."""


@dataclass(frozen=True, slots=True)
class Found:
    entry: CacheEntry
    idx: int
    """Bucket slot the entry was served from."""


@dataclass(frozen=True, slots=True)
class Vector:
    """Where a request sits for semantic matching: its partition and unit embedding."""

    partition: str
    values: np.ndarray
    text: str | None = None
    """The last user turn embedded, kept on the entry for the verification step."""


Accept = Callable[[CacheEntry], bool]
"""Whether a semantic candidate may be served (see ``relayscope.cache.verify``)."""


class Backend(Protocol):
    async def start(self) -> None: ...
    async def close(self) -> None: ...

    async def lookup(self, key: str, bucket_size: int) -> Found | None:
        """A stored entry once all ``bucket_size`` slots of ``key`` are full (a random
        one), else None: the request must go upstream and fill the next slot."""

    async def store(
        self, key: str, bucket_size: int, entry: CacheEntry, vector: Vector | None
    ) -> int | None:
        """Put ``entry`` in the first free slot of ``key``, atomically; its index, or
        None when every slot is already taken."""

    async def nearest(
        self, vector: Vector, threshold: float, accept: Accept
    ) -> tuple[Found, float] | None:
        """The most similar live entry of the partition at or above ``threshold`` that
        ``accept`` (the verification step) lets through."""


def slot_key(key: str, idx: int) -> str:
    return f"{key}:{idx}"


def slot_index(slot: str) -> int:
    return int(slot.rsplit(":", 1)[1])


class LazyIndex:
    """A ``VectorIndex`` made on first use, so numpy is only imported by semantic requests."""

    def __init__(self, max_per_partition: int) -> None:
        self._max = max_per_partition
        self._index: VectorIndex | None = None

    def _get(self) -> VectorIndex:
        if self._index is None:
            from relayscope.cache.index import VectorIndex

            self._index = VectorIndex(self._max)
        return self._index

    def add(self, partition: str, key: str, vector: np.ndarray, expires_at: float) -> None:
        self._get().add(partition, key, vector, expires_at)

    def add_bytes(self, partition: str, key: str, raw: bytes, expires_at: float) -> None:
        import numpy as np

        self.add(partition, key, np.frombuffer(raw, dtype=np.float32), expires_at)

    def remove(self, key: str) -> None:
        if self._index is not None:
            self._index.remove(key)

    def search(
        self, partition: str, query: np.ndarray, threshold: float, now: float
    ) -> list[tuple[str, float]]:
        return self._get().search(partition, query, threshold, now)
