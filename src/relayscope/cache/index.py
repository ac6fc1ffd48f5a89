"""Nearest-neighbour search over cached requests' embeddings, one numpy matrix per partition.

A partition holds the requests that may match each other (same org, route, model,
seed and parameters), so a search is one exact matrix-vector product over that
partition only: about 0.2 ms for 10,000 entries of 256 dimensions. Exact search
needs no tuning, no rebuilds and supports O(1) removal, which an approximate index
(HNSW) would trade for speed that partitions of this size do not need.
"""

from __future__ import annotations

import numpy as np

_INITIAL_ROWS = 8
MAX_CANDIDATES = 4


class _Partition:
    __slots__ = ("expires", "keys", "matrix", "rows", "size")

    def __init__(self, dim: int) -> None:
        self.matrix = np.empty((_INITIAL_ROWS, dim), dtype=np.float32)
        self.expires = np.empty(_INITIAL_ROWS, dtype=np.float64)
        self.keys: list[str] = []
        self.rows: dict[str, int] = {}
        self.size = 0

    def add(self, key: str, vector: np.ndarray, expires_at: float) -> None:
        row = self.rows.get(key)
        if row is None:
            if self.size == len(self.matrix):
                self.matrix = np.concatenate([self.matrix, np.empty_like(self.matrix)])
                self.expires = np.concatenate([self.expires, np.empty_like(self.expires)])
            row = self.size
            self.size += 1
            self.rows[key] = row
            self.keys.append(key)
        self.matrix[row] = vector
        self.expires[row] = expires_at

    def remove(self, key: str) -> None:
        row = self.rows.pop(key)
        last = self.size - 1
        if row != last:
            moved = self.keys[last]
            self.matrix[row] = self.matrix[last]
            self.expires[row] = self.expires[last]
            self.keys[row] = moved
            self.rows[moved] = row
        self.keys.pop()
        self.size = last

    def soonest_expiring(self) -> str:
        return self.keys[int(np.argmin(self.expires[: self.size]))]

    def search(self, query: np.ndarray, threshold: float, now: float) -> list[tuple[str, float]]:
        scores = self.matrix[: self.size] @ query
        scores[self.expires[: self.size] <= now] = -np.inf
        above = np.flatnonzero(scores >= threshold)
        if len(above) > MAX_CANDIDATES:
            above = above[np.argpartition(-scores[above], MAX_CANDIDATES)[:MAX_CANDIDATES]]
        best = sorted(((float(scores[i]), self.keys[i]) for i in above), reverse=True)
        return [(key, score) for score, key in best]


class VectorIndex:
    """Unit vectors by entry key, grouped in partitions; cosine similarity search."""

    def __init__(self, max_per_partition: int) -> None:
        self._partitions: dict[str, _Partition] = {}
        self._partition_of: dict[str, str] = {}
        self._max = max_per_partition

    def __len__(self) -> int:
        return len(self._partition_of)

    def add(self, partition: str, key: str, vector: np.ndarray, expires_at: float) -> None:
        part = self._partitions.get(partition)
        if part is None:
            part = self._partitions[partition] = _Partition(len(vector))
        if key not in part.rows and part.size >= self._max:
            self.remove(part.soonest_expiring())
            part = self._partitions.setdefault(partition, part)
        part.add(key, vector, expires_at)
        self._partition_of[key] = partition

    def remove(self, key: str) -> None:
        name = self._partition_of.pop(key, None)
        if name is None:
            return
        part = self._partitions[name]
        part.remove(key)
        if part.size == 0:
            del self._partitions[name]

    def search(
        self, partition: str, query: np.ndarray, threshold: float, now: float
    ) -> list[tuple[str, float]]:
        """Keys of live entries at least ``threshold`` similar to ``query``, best first."""
        part = self._partitions.get(partition)
        if part is None:
            return []
        return part.search(query, threshold, now)
