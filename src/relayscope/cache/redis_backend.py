"""Redis backend: entries shared by every replica, with native TTLs and atomic slots.

Keys (all under ``settings.redis_prefix``):
  cache:{<org>:<digest>}:<idx>   one bucket slot, the serialized entry, PX = its TTL
  cache:sem:<org>:<digest>       a stream of (slot, vector, expiry) per semantic partition

The hash tag puts every slot of a bucket in one Redis Cluster slot, as the bucket
scripts need. Each replica mirrors the semantic streams it has searched in a local ``VectorIndex``,
reading only the stream entries added since its last look (XRANGE from a cursor).
Any Redis failure or timeout raises ``CacheUnavailable`` and opens a short breaker
so that an outage costs requests nothing but the cache.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from functools import partial
from typing import TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from relayscope.cache.backend import (
    Accept,
    CacheUnavailable,
    Found,
    LazyIndex,
    Vector,
    slot_index,
    slot_key,
)
from relayscope.cache.entry import CacheEntry

log = logging.getLogger("relayscope.cache")
T = TypeVar("T")

# Returns {idx, entry} once every slot is filled, else nil (the request fills the next one).
_LOOKUP = """
local n = #KEYS
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 0 then return nil end
end
local pick = math.min(math.floor(tonumber(ARGV[1]) * n) + 1, n)
return {pick - 1, redis.call('GET', KEYS[pick])}
"""

# Stores ARGV[1] with TTL ARGV[2] ms in the first free slot; its index, or -1 when full.
_FILL = """
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2], 'NX') then return i - 1 end
end
return -1
"""

_SYNC_PAGE = 1000

# The client is made without decode_responses, so stream ids and fields come back as bytes.
StreamEntry = tuple[bytes, dict[bytes, bytes]]


class RedisBackend:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        timeout: float,
        retry_interval: float,
        max_per_partition: int,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}cache:"
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._max_per_partition = max_per_partition
        self._down_until = 0.0
        self._lookup = redis.register_script(_LOOKUP)
        self._fill = redis.register_script(_FILL)
        self._index = LazyIndex(max_per_partition)
        self._cursors: dict[str, bytes] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def lookup(self, key: str, bucket_size: int) -> Found | None:
        if bucket_size == 1:
            raw = await self._call(lambda: self._redis.get(self._slot(key, 0)))
            return Found(CacheEntry.loads(_as_bytes(raw)), 0) if raw is not None else None
        keys = [self._slot(key, idx) for idx in range(bucket_size)]
        reply = await self._call(lambda: self._lookup(keys=keys, args=[random.random()]))
        if reply is None:
            return None
        idx, raw = reply
        return Found(CacheEntry.loads(raw), int(idx))

    async def store(
        self, key: str, bucket_size: int, entry: CacheEntry, vector: Vector | None
    ) -> int | None:
        ttl_ms = max(1, int((entry.expires_at - time.time()) * 1000))
        payload = entry.dumps()
        if bucket_size == 1:
            stored = await self._call(
                lambda: self._redis.set(self._slot(key, 0), payload, px=ttl_ms, nx=True)
            )
            idx = 0 if stored else -1
        else:
            keys = [self._slot(key, i) for i in range(bucket_size)]
            idx = int(await self._call(lambda: self._fill(keys=keys, args=[payload, ttl_ms])))
        if idx < 0:
            return None
        if vector is not None:
            await self._add_vector(vector, slot_key(key, idx), entry.expires_at, ttl_ms)
        return idx

    async def nearest(
        self, vector: Vector, threshold: float, accept: Accept
    ) -> tuple[Found, float] | None:
        await self._sync(vector.partition)
        matches = self._index.search(vector.partition, vector.values, threshold, time.time())
        for slot, score in matches:
            key, idx = slot.rsplit(":", 1)
            raw = await self._call(partial(self._redis.get, self._slot(key, int(idx))))
            if raw is None:
                self._index.remove(slot)
                continue
            entry = CacheEntry.loads(_as_bytes(raw))
            if accept(entry):
                return Found(entry, slot_index(slot)), score
        return None

    async def scan(self, org_id: str) -> AsyncIterator[list[tuple[str, CacheEntry]]]:
        """The org's entries, a SCAN page at a time; raises RedisError when Redis is down
        (deleting a user's data must not report success while Redis still holds some)."""
        head = f"{self._prefix}{{{org_id}:"
        async for keys in _pages(self._redis.scan_iter(match=_glob(head) + "*", count=500)):
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.get(key)
                values = await pipe.execute()
            yield [
                (_logical_slot(key.decode(), self._prefix), CacheEntry.loads(raw))
                for key, raw in zip(keys, values, strict=True)
                if raw is not None
            ]

    async def discard(self, slots: Collection[str]) -> int:
        """Delete ``slots`` and their vectors in the semantic streams; how many existed."""
        if not slots:
            return 0
        async with self._redis.pipeline(transaction=False) as pipe:
            for slot in slots:
                key, idx = slot.rsplit(":", 1)
                pipe.delete(self._slot(key, int(idx)))
            deleted: int = sum(await pipe.execute())
        gone = set(slots)
        orgs = {slot.split(":", 1)[0] for slot in gone}
        for org_id in orgs:
            streams = self._redis.scan_iter(match=_glob(self._stream(f"{org_id}:")) + "*")
            async for stream in streams:
                ids = [
                    entry_id
                    for entry_id, fields in await self._entries(stream)
                    if fields[b"slot"].decode() in gone
                ]
                if ids:
                    await self._redis.xdel(stream, *ids)
        for slot in gone:
            self._index.remove(slot)
        return deleted

    async def _add_vector(self, vector: Vector, slot: str, expires_at: float, ttl_ms: int) -> None:
        stream = self._stream(vector.partition)
        fields: dict[FieldT, EncodableT] = {
            "slot": slot,
            "vector": vector.values.astype("float32").tobytes(),
            "expires_at": repr(expires_at),
        }

        async def add() -> None:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xadd(stream, fields, maxlen=self._max_per_partition, approximate=True)
                pipe.pexpire(stream, ttl_ms, nx=True)
                pipe.pexpire(stream, ttl_ms, gt=True)
                await pipe.execute()

        await self._call(add)

    async def _sync(self, partition: str) -> None:
        """Bring the local index up to date with the partition's stream."""
        stream = self._stream(partition)
        while True:
            cursor = self._cursors.get(partition, b"0-0")
            page = await self._call(
                partial(self._entries, stream, start=b"(" + cursor, count=_SYNC_PAGE)
            )
            for entry_id, fields in page:
                slot = fields[b"slot"].decode()
                expires_at = float(fields[b"expires_at"])
                self._index.add_bytes(partition, slot, fields[b"vector"], expires_at)
                self._cursors[partition] = entry_id
            if len(page) < _SYNC_PAGE:
                return

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        if time.monotonic() < self._down_until:
            raise CacheUnavailable("Redis is marked down")
        try:
            async with asyncio.timeout(self._timeout):
                return await operation()
        except (RedisError, OSError, TimeoutError) as exc:
            self._down_until = time.monotonic() + self._retry_interval
            log.warning(
                "Redis cache unavailable (%s: %s); bypassing the cache for %.1fs",
                exc.__class__.__name__,
                exc,
                self._retry_interval,
            )
            raise CacheUnavailable(str(exc)) from exc

    async def _entries(
        self, stream: str, *, start: bytes = b"-", count: int | None = None
    ) -> list[StreamEntry]:
        page = await self._redis.xrange(stream, min=start, max="+", count=count)
        return cast(list[StreamEntry], page or [])

    def _slot(self, key: str, idx: int) -> str:
        return f"{self._prefix}{{{key}}}:{idx}"

    def _stream(self, partition: str) -> str:
        return f"{self._prefix}sem:{partition}"


def _as_bytes(raw: bytes | str) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode()


def _glob(text: str) -> str:
    """``text`` matched literally in a SCAN pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _logical_slot(redis_key: str, prefix: str) -> str:
    """``<prefix>{<org>:<digest>}:<idx>`` back to ``<org>:<digest>:<idx>``."""
    bucket, _, idx = redis_key.removeprefix(prefix).rpartition(":")
    return f"{bucket.strip('{}')}:{idx}"


async def _pages(keys: AsyncIterator[bytes], size: int = 500) -> AsyncIterator[list[bytes]]:
    page: list[bytes] = []
    async for key in keys:
        page.append(key)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page
