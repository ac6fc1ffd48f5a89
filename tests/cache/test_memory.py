"""The in-process backend: buckets, TTLs, LRU by bytes, semantic search, the wire format."""

from __future__ import annotations

import numpy as np

from relayscope.cache.backend import Vector
from relayscope.cache.entry import CacheEntry
from relayscope.cache.memory import MemoryBackend
from relayscope.cache.stats import CacheStats


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def entry(body: bytes = b"{}", *, expires_at: float = 2000.0, source: str = "r1") -> CacheEntry:
    headers = ((b"content-type", b"application/json"),)
    return CacheEntry(200, headers, body, False, source, expires_at)


def backend(max_bytes: int = 10_000, clock: Clock | None = None) -> MemoryBackend:
    return MemoryBackend(max_bytes=max_bytes, stats=CacheStats(), clock=clock or Clock())


async def test_a_bucket_answers_only_once_full():
    cache = backend()
    assert await cache.store("k", 2, entry(b"a"), None) == 0
    assert await cache.lookup("k", 2) is None
    assert await cache.store("k", 2, entry(b"b"), None) == 1
    assert await cache.store("k", 2, entry(b"c"), None) is None
    seen = {
        (found.idx, found.entry.body) for _ in range(40) if (found := await cache.lookup("k", 2))
    }
    assert seen == {(0, b"a"), (1, b"b")}


async def test_entries_expire():
    clock = Clock()
    cache = backend(clock=clock)
    await cache.store("k", 1, entry(expires_at=clock.now + 5), None)
    assert await cache.lookup("k", 1) is not None
    clock.now += 5
    assert await cache.lookup("k", 1) is None
    assert len(cache) == 0 and cache.bytes == 0


async def test_least_recently_used_entries_go_first_when_over_budget():
    one = entry(b"x" * 300)
    cache = backend(max_bytes=one.size * 3)
    for key in ("a", "b", "c"):
        await cache.store(key, 1, entry(b"x" * 300), None)
    assert await cache.lookup("a", 1) is not None  # now "b" is the least recent
    await cache.store("d", 1, entry(b"x" * 300), None)
    assert await cache.lookup("b", 1) is None
    assert all([await cache.lookup(key, 1) for key in ("a", "c", "d")])
    assert cache.bytes <= one.size * 3


def accept_all(_: CacheEntry) -> bool:
    return True


def unit(values: list[float]) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


async def test_nearest_finds_the_most_similar_live_entry_in_its_partition():
    clock = Clock()
    cache = backend(clock=clock)
    await cache.store("a", 1, entry(b"a"), Vector("p", unit([1, 0, 0])))
    await cache.store("b", 1, entry(b"b", expires_at=clock.now + 1), Vector("p", unit([1, 1, 0])))
    await cache.store("c", 1, entry(b"c"), Vector("q", unit([1, 1, 0.1])))
    found, score = await cache.nearest(Vector("p", unit([1, 1, 0.1])), 0.5, accept_all)
    assert found.entry.body == b"b" and score > 0.99
    clock.now += 1
    found, score = await cache.nearest(Vector("p", unit([1, 1, 0.1])), 0.5, accept_all)
    assert found.entry.body == b"a" and 0.5 < score < 0.8
    assert await cache.nearest(Vector("p", unit([0, 0, 1])), 0.5, accept_all) is None


async def test_a_candidate_the_verification_refuses_is_passed_over_for_the_next():
    cache = backend()
    await cache.store("a", 1, entry(b"a"), Vector("p", unit([1, 0, 0])))
    await cache.store("b", 1, entry(b"b"), Vector("p", unit([1, 1, 0])))
    query = Vector("p", unit([1, 1, 0.1]))
    found, _ = await cache.nearest(query, 0.5, lambda e: e.body != b"b")
    assert found.entry.body == b"a"
    assert await cache.nearest(query, 0.5, lambda e: False) is None


async def test_evicted_entries_leave_the_vector_index():
    one = entry(b"x" * 100)
    cache = backend(max_bytes=one.size)
    await cache.store("a", 1, entry(b"x" * 100), Vector("p", unit([1, 0])))
    await cache.store("b", 1, entry(b"y" * 100), Vector("p", unit([0, 1])))
    assert await cache.nearest(Vector("p", unit([1, 0])), 0.9, accept_all) is None
    found, _ = await cache.nearest(Vector("p", unit([0, 1])), 0.9, accept_all)
    assert found.entry.body == b"y" * 100


def test_the_wire_format_round_trips():
    original = CacheEntry(
        200, ((b"content-type", b"text/event-stream"),), b"data: {}\n\n", True, "r9", 123.5
    )
    assert CacheEntry.loads(original.dumps()) == original
