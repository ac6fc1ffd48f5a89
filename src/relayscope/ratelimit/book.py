"""Standing policies held in memory, so that requests never wait on the store.

The book reads every standing policy in one query and serves that snapshot for
``ttl`` seconds. When it is stale, the next request starts a refresh in the
background and is served from the snapshot it has; only the first request of
the process waits for the first read. A refresh that fails keeps the snapshot.

Until a first read has succeeded there is no snapshot to keep: ``policies`` then
raises ``PoliciesUnknown`` (so the stage can fail open or closed as configured) and
the read is retried at most once a second, never marked fresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from relayscope.ratelimit.repository import StandingPolicy

log = logging.getLogger("relayscope.ratelimit")

Load = Callable[[], Awaitable[Sequence[StandingPolicy]]]

_FIRST_READ_RETRY = 1.0
"""Seconds between attempts at a first read that keeps failing."""


class PoliciesUnknown(Exception):
    """The standing policies have never been read: the store failed every attempt."""


class PolicyBook:
    def __init__(self, load: Load, *, ttl: float) -> None:
        self._load = load
        self._ttl = ttl
        self._by_org: dict[str, tuple[StandingPolicy, ...]] = {}
        self._fresh_until: float | None = None
        """When the snapshot goes stale; None until a read has succeeded."""
        self._retry_at = 0.0
        self._refreshing: asyncio.Task[None] | None = None

    def may_have(self, org_id: str) -> bool:
        """False only when a fresh snapshot says the org has no standing policy."""
        fresh = self._fresh_until is not None and time.monotonic() < self._fresh_until
        return not fresh or org_id in self._by_org

    async def policies(self, org_id: str, key_id: str) -> Sequence[StandingPolicy]:
        """The org's policies that apply to requests made with ``key_id``.

        Raises ``PoliciesUnknown`` while no read has ever succeeded."""
        now = time.monotonic()
        due = now >= self._retry_at if self._fresh_until is None else now >= self._fresh_until
        if self._refreshing is None and due:
            self._refreshing = asyncio.create_task(self._refresh(), name="ratelimit-policies")
        if self._fresh_until is None:
            if self._refreshing is not None:
                await asyncio.shield(self._refreshing)
            if self._fresh_until is None:
                raise PoliciesUnknown("the standing rate-limit policies could not be read")
        policies = self._by_org.get(org_id)
        if not policies:
            return ()
        return [p for p in policies if p.key_id is None or p.key_id == key_id]

    async def _refresh(self) -> None:
        try:
            loaded = await self._load()
        except Exception as exc:
            if self._fresh_until is None:
                log.warning("cannot read standing rate-limit policies: %s", exc)
                self._retry_at = time.monotonic() + min(self._ttl, _FIRST_READ_RETRY)
            else:
                log.warning("cannot read standing rate-limit policies, keeping the last: %s", exc)
                self._fresh_until = time.monotonic() + self._ttl
        else:
            by_org: dict[str, list[StandingPolicy]] = {}
            for policy in loaded:
                by_org.setdefault(policy.org_id, []).append(policy)
            self._by_org = {org: tuple(items) for org, items in by_org.items()}
            self._fresh_until = time.monotonic() + self._ttl
        finally:
            self._refreshing = None
