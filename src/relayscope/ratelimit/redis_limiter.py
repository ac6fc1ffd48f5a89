"""Counters in Redis, shared by every gateway replica.

One Lua script (sent once, then run by EVALSHA) makes each decision atomically
on the server, with the server's clock, so replicas neither race nor need
synchronised clocks. It is ``window.SlidingLog`` over two keys per counter: a
list of ``tick:last use:amount`` entries, oldest first, and their running total.
Both expire one window after their last use.

The keys of one org share a hash tag (``{org id}``), so a decision that touches
several counters stays on one Redis Cluster slot.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from relayscope.ratelimit.limiter import BackendUnavailable, Check, Outcome

log = logging.getLogger("relayscope.ratelimit")

LUA = """
-- window.SlidingLog on the server: ticks of `window` ms (RESOLUTION 1000).
-- Before Redis 5, scripts that read TIME may only write with effects replication.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local spend = ARGV[1] == 'spend'
local n = #KEYS / 2
local state = {}
local all_fit = true

local function parse(entry)
  local a = string.find(entry, ':', 1, true)
  local b = string.find(entry, ':', a + 1, true)
  return tonumber(string.sub(entry, 1, a - 1)), tonumber(string.sub(entry, a + 1, b - 1)),
    tonumber(string.sub(entry, b + 1))
end

local function fits(total, cost, quota)
  if cost > 0 then return total + cost <= quota end
  return total < quota
end

for i = 1, n do
  local list, sum = KEYS[2 * i - 1], KEYS[2 * i]
  local quota, window, cost = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]),
    tonumber(ARGV[3 * i + 1])
  local window_ms = window * 1000
  local total = tonumber(redis.call('GET', sum) or '0')
  local changed = false
  local head_last = nil
  while true do
    local head = redis.call('LINDEX', list, 0)
    if not head then
      total = 0
      break
    end
    local _, last, amount = parse(head)
    if last + window_ms > now then
      head_last = last
      break
    end
    total = total - amount
    redis.call('LPOP', list)
    changed = true
  end
  local s = {list = list, sum = sum, window = window, window_ms = window_ms, cost = cost,
    total = total, changed = changed, head_last = head_last, fit = true, wait = 0}
  if not spend and not fits(total, cost, quota) then
    s.fit = false
    all_fit = false
    local left = total
    for _, entry in ipairs(redis.call('LRANGE', list, 0, -1)) do
      if fits(left, cost, quota) then break end
      local _, last, amount = parse(entry)
      left = left - amount
      s.wait = last + window_ms - now
    end
  end
  state[i] = s
end

local out = {}
for i = 1, n do
  local s = state[i]
  if all_fit and s.cost > 0 then
    local tick = math.floor(now / s.window)
    local tail = s.head_last and redis.call('LINDEX', s.list, -1)
    local tail_tick, tail_amount = nil, 0
    if tail then
      local _
      tail_tick, _, tail_amount = parse(tail)
    end
    if tail_tick == tick then
      redis.call('LSET', s.list, -1,
        string.format('%.0f:%.17g:%.17g', tick, now, tail_amount + s.cost))
    else
      redis.call('RPUSH', s.list, string.format('%.0f:%.17g:%.17g', tick, now, s.cost))
    end
    if not s.head_last then s.head_last = now end
    s.total = s.total + s.cost
    s.changed = true
  end
  if s.changed then
    if s.head_last then
      local ttl = math.ceil(s.window_ms + s.window)
      redis.call('SET', s.sum, string.format('%.17g', s.total), 'PX', ttl)
      redis.call('PEXPIRE', s.list, ttl)
    else
      redis.call('DEL', s.list, s.sum)
    end
  end
  local reset = s.wait
  if s.fit and s.head_last then reset = s.head_last + s.window_ms - now end
  out[3 * i - 2] = s.fit and '1' or '0'
  out[3 * i - 1] = string.format('%.17g', s.total)
  out[3 * i] = string.format('%.17g', reset)
end
return out
"""


class RedisLimiter:
    """Counters in Redis. After a failure, Redis is skipped for ``retry_interval`` seconds
    so that an outage costs one timeout per interval, not one per request."""

    def __init__(
        self, redis: Redis, prefix: str, *, timeout: float = 1.0, retry_interval: float = 1.0
    ) -> None:
        self._script = redis.register_script(LUA)
        self._prefix = f"{prefix}ratelimit:"
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._skip_until = 0.0

    async def decide(self, org_id: str, checks: Sequence[Check]) -> list[Outcome]:
        raw = await self._run(org_id, checks, "decide", lambda check: check.cost)
        return [
            Outcome(raw[i] == b"1", float(raw[i + 1]), float(raw[i + 2]) / 1000)
            for i in range(0, len(raw), 3)
        ]

    async def spend(self, org_id: str, checks: Sequence[Check], amount: float) -> None:
        await self._run(org_id, checks, "spend", lambda _check: amount)

    def key(self, org_id: str, check: Check) -> str:
        """The counter's key stem; ``:log`` and ``:sum`` are appended."""
        digest = hashlib.blake2b(
            f"{check.window}\x1f{check.counter}".encode(), digest_size=16
        ).hexdigest()
        return f"{self._prefix}{{{org_id}}}:{digest}"

    async def _run(
        self,
        org_id: str,
        checks: Sequence[Check],
        mode: str,
        amount: Callable[[Check], float],
    ) -> list[bytes]:
        if time.monotonic() < self._skip_until:
            raise BackendUnavailable("Redis failed less than a retry interval ago")
        keys: list[str] = []
        args: list[str] = [mode]
        for check in checks:
            stem = self.key(org_id, check)
            keys += (f"{stem}:log", f"{stem}:sum")
            args += (repr(check.quota), str(check.window), repr(float(amount(check))))
        try:
            async with asyncio.timeout(self._timeout):
                counts: list[bytes] = await self._script(keys=keys, args=args)
                return counts
        except (RedisError, OSError, TimeoutError) as exc:
            self._skip_until = time.monotonic() + self._retry_interval
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc) or repr(exc)
            log.warning("rate limiting cannot reach Redis (%s)", reason)
            raise BackendUnavailable(f"Redis {reason}") from exc
