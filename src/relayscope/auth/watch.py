"""Revoked keys stop working within a second on every gateway sharing the store.

``KeyResolver`` caches each key's answer for ``RELAYSCOPE_KEY_CACHE_TTL`` seconds so
the hot path rarely asks the store. ``KeyWatch`` drops a cached answer as soon as
its key is revoked or its role changed, wherever that happened (``relayscope keys``
in another process, another replica):

- on Postgres, the change's transaction sends a ``NOTIFY`` (``SqlStore._key_changed``)
  that every gateway ``LISTEN``s for on a connection of its own: it arrives within
  milliseconds of the commit. While that connection is down the watch reconnects
  every second and, once back, forgets every cached answer (it may have missed some).
- on SQLite (one host), it asks the store every ``interval`` about the keys it has
  cached, and only those: nothing at all while nothing is cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from relayscope.auth.keys import KeyResolver
from relayscope.store.sql import KEYS_CHANNEL, SqlStore
from relayscope.throttled_log import ThrottledWarning

log = logging.getLogger("relayscope.auth")

RECONNECT_AFTER = 1.0
"""Seconds between attempts to listen again after the Postgres connection was lost."""


class KeyWatch:
    def __init__(self, store: SqlStore, resolver: KeyResolver, *, interval: float = 0.5) -> None:
        self._store = store
        self._resolver = resolver
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._trouble = ThrottledWarning(log)

    def start(self) -> None:
        run = self._listen if self._store.dialect == "postgresql" else self._poll
        self._task = asyncio.create_task(run(), name="relayscope-key-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
            except Exception as exc:  # any failure to listen: the driver's errors vary
                self._trouble.warning("cannot listen for key revocations (%s); retrying", exc)
            await asyncio.sleep(RECONNECT_AFTER)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(self._store.url, timeout=5)
        try:
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(KEYS_CHANNEL, self._notified)
            # Whatever changed before this point was never heard: ask again.
            self._resolver.forget()
            await lost.wait()
        finally:
            if not conn.is_closed():
                await conn.close(timeout=5)

    def _notified(
        self,
        _conn: asyncpg.Connection[Any] | PoolConnectionProxy[Any],
        _pid: int,
        _channel: str,
        key_id: object,
    ) -> None:
        self._resolver.forget({str(key_id)})

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            cached = self._resolver.cached_roles()
            if not cached:
                continue
            try:
                states = await self._store.key_states(cached)
            except Exception as exc:  # any store failure: the driver's errors vary
                self._trouble.warning("cannot check cached keys (%s)", exc)
                continue
            changed = {key_id for key_id, role in cached.items() if states.get(key_id) != role}
            if changed:
                self._resolver.forget(changed)
