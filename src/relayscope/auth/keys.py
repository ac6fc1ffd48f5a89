"""Gateway keys look like ``sk-relayscope-<43 url-safe chars>`` and are stored as SHA-256.

A fast hash is right here: keys carry 256 bits of randomness, so there is nothing
for a slow password hash to protect, and lookups happen on every request.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from relayscope.auth.policy import KeyPolicy
from relayscope.errors import ServiceUnavailable, Unauthorized
from relayscope.throttled_log import ThrottledWarning

log = logging.getLogger("relayscope.auth")

KEY_PREFIX = "sk-relayscope-"
INTERNAL_PRINCIPAL = "relayscope.principal"
"""ASGI scope key under which the gateway's own in-process calls (the dashboard's API
reads, an experiment's proxied requests) name their caller: a network client cannot
set scope keys, so no key needs to be resolved for them."""


ADMIN = "admin"
PROXY = "proxy"
ROLES = (ADMIN, PROXY)
"""A proxy key proxies and reads its org's logs; an admin key also manages the org."""


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: str
    key_id: str
    role: str = PROXY
    policy: KeyPolicy | None = None
    """A virtual key's scopes, expiry and credentials; None for a key without any."""
    revision: int = 0
    """Bumped by the store on every change to the key (scopes, rotation, credentials)."""

    @property
    def admin(self) -> bool:
        return self.role == ADMIN

    @property
    def state(self) -> str:
        """What a cached answer must still match: the role, and the revision once changed."""
        return key_state(self.role, self.revision)


def key_state(role: str, revision: int) -> str:
    return role if revision == 0 else f"{role}#{revision}"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_bearer(value: str | None, header: str) -> str:
    """The key in ``Bearer <key>``, or Unauthorized naming ``header``."""
    if not value:
        raise Unauthorized(f"Missing {header} header: expected 'Bearer <gateway key>'")
    scheme, _, key = value.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        raise Unauthorized(f"Malformed {header} header: expected 'Bearer <gateway key>'")
    if not key.startswith(KEY_PREFIX):
        raise Unauthorized(f"Invalid gateway key in {header} header")
    return key


Lookup = Callable[[str], Awaitable[Principal | None]]


class KeyResolver:
    """Resolves keys through the store, caching answers for ``ttl`` seconds.

    While the store cannot be reached, a key seen before keeps its last answer, so
    a database outage does not turn away the traffic the gateway was serving.

    Requests with a key whose answer is missing or stale share one lookup: thousands
    of streams opened at once with one key (or arriving as its answer expires) would
    otherwise each take a store connection, and queue for the pool's few.
    """

    def __init__(
        self,
        lookup: Lookup,
        *,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lookup = lookup
        self.clock = clock
        """Wall-clock epoch seconds that a key's expiry is checked against."""
        self._ttl = ttl
        self._max = max_entries
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._flights: dict[tuple[str, int], asyncio.Future[Principal | None]] = {}
        """The lookup under way for a key, by key and generation (a request arriving
        after a ``forget`` does not join a lookup that started before it)."""
        self._lookup_failed = ThrottledWarning(log)
        self._generation = 0
        """Bumped by every ``forget``: a lookup that started before it is not cached."""

    async def resolve(self, header_value: str | None, header: str) -> Principal:
        key = parse_bearer(header_value, header)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return _allowed(cached[1], header)
        flight_key = (key, self._generation)
        flight = self._flights.get(flight_key)
        if flight is None:
            flight = asyncio.ensure_future(self._refresh(key, self._generation))
            self._flights[flight_key] = flight
            flight.add_done_callback(functools.partial(self._landed, flight_key))
        try:
            # Shielded: a waiter that goes away does not cancel the others' lookup.
            principal = await asyncio.shield(flight)
        except _StoreDown as exc:
            raise _store_down(header) from exc.__cause__
        return _allowed(principal, header)

    async def _refresh(self, key: str, generation: int) -> Principal | None:
        now = time.monotonic()
        cached = self._cache.get(key)
        try:
            principal = await self._lookup(hash_key(key))
        except Exception as exc:  # any store failure: the driver's errors vary
            if cached is None:
                raise _StoreDown from exc
            self._lookup_failed.warning("key lookup failed (%s); using the last known answer", exc)
            # Ask the store again a TTL later, not on every request meanwhile.
            self._cache[key] = (now + self._ttl, cached[1])
            return cached[1]
        if generation != self._generation:
            # A key was revoked or changed meanwhile: this answer may predate it.
            return principal
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[key] = (now + self._ttl, principal)
        return principal

    def _landed(
        self, flight_key: tuple[str, int], flight: asyncio.Future[Principal | None]
    ) -> None:
        if self._flights.get(flight_key) is flight:
            del self._flights[flight_key]
        if not flight.cancelled():
            flight.exception()  # seen, even when every waiter has gone

    def cached_roles(self) -> dict[str, str]:
        """The state (``Principal.state``) of every key whose answer is cached, by key id."""
        return {p.key_id: p.state for _, p in self._cache.values() if p is not None}

    def forget(self, key_ids: Collection[str] | None = None) -> None:
        """Drop the cached answers for ``key_ids`` (None: all), so the next request with
        one of those keys asks the store: how a revocation takes effect before the TTL."""
        self._generation += 1
        if key_ids is None:
            self._cache.clear()
            return
        stale = [
            key
            for key, (_, principal) in self._cache.items()
            if principal is not None and principal.key_id in key_ids
        ]
        for key in stale:
            del self._cache[key]


class _StoreDown(Exception):
    """The store could not answer for a key never seen before."""


def _allowed(principal: Principal | None, header: str) -> Principal:
    if principal is None:
        raise Unauthorized(f"Unknown or revoked gateway key in {header} header")
    return principal


def _store_down(header: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The gateway cannot check the key in {header} right now: its store is unavailable; "
        "retry shortly",
        code="store_unavailable",
        headers={"Retry-After": "5"},
    )
