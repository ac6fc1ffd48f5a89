"""Spend counters in Redis, shared by every gateway replica.

Each counter is a hash (``usd``, ``tokens``) named by budget and period start,
expiring a day after its period ends. Charges are one Lua script per request, so
the counters of every level it falls under move together and atomically
(``HINCRBYFLOAT`` on the server, never read-modify-write from a replica). The keys
of one org share a hash tag, so a script stays on one Redis Cluster slot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from relayscope.budgets.counters import Counter, CountersUnavailable
from relayscope.budgets.model import Spend

log = logging.getLogger("relayscope.budgets")

T = TypeVar("T")

CHARGE = """
local out = {}
for i, key in ipairs(KEYS) do
  local usd = redis.call('HINCRBYFLOAT', key, 'usd', ARGV[1])
  local tokens = redis.call('HINCRBY', key, 'tokens', ARGV[2])
  redis.call('EXPIREAT', key, ARGV[2 + i])
  out[2 * i - 1] = usd
  out[2 * i] = tostring(tokens)
end
return out
"""

RAISE = """
local usd = tonumber(redis.call('HGET', KEYS[1], 'usd') or '0')
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens') or '0')
if tonumber(ARGV[1]) > usd then redis.call('HSET', KEYS[1], 'usd', ARGV[1]) end
if tonumber(ARGV[2]) > tokens then redis.call('HSET', KEYS[1], 'tokens', ARGV[2]) end
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return 1
"""

_KEEP_AFTER_END = 86400
"""Seconds a counter outlives its period (for a late reconcile or a read of it)."""


class RedisCounters:
    def __init__(self, redis: Redis, prefix: str, *, timeout: float = 1.0) -> None:
        self._redis = redis
        self._charge = redis.register_script(CHARGE)
        self._raise = redis.register_script(RAISE)
        self._prefix = f"{prefix}budget:"
        self._timeout = timeout

    def key(self, counter: Counter) -> str:
        return f"{self._prefix}{{{counter.org_id}}}:{counter.name}"

    async def read(self, counters: Sequence[Counter]) -> list[Spend]:
        async def read() -> list[Spend]:
            pipe = self._redis.pipeline(transaction=False)
            for counter in counters:
                pipe.hmget(self.key(counter), "usd", "tokens")
            return [_spend(usd, tokens) for usd, tokens in await pipe.execute()]

        return await self._run(read)

    async def charge(self, counters: Sequence[Counter], spend: Spend) -> list[Spend]:
        keys = [self.key(c) for c in counters]
        args = [repr(spend.usd), str(spend.tokens), *(str(_expiry(c)) for c in counters)]

        async def charge() -> list[Spend]:
            raw: list[bytes] = await self._charge(keys=keys, args=args)
            return [_spend(raw[i], raw[i + 1]) for i in range(0, len(raw), 2)]

        return await self._run(charge)

    async def raise_to(self, counter: Counter, spend: Spend) -> None:
        args = [repr(spend.usd), str(spend.tokens), str(_expiry(counter))]

        async def lift() -> None:
            await self._raise(keys=[self.key(counter)], args=args)

        await self._run(lift)

    async def _run(self, work: Callable[[], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self._timeout):
                return await work()
        except (RedisError, OSError, TimeoutError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or repr(exc)
            log.warning("budgets cannot reach Redis (%s)", reason)
            raise CountersUnavailable(f"Redis {reason}") from exc


def _expiry(counter: Counter) -> int:
    return int(counter.end.astimezone(UTC).timestamp()) + _KEEP_AFTER_END


def _spend(usd: bytes | None, tokens: bytes | None) -> Spend:
    return Spend(float(usd) if usd else 0.0, int(tokens) if tokens else 0)
