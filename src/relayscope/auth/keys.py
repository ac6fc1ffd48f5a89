"""Gateway keys look like ``sk-relayscope-<43 url-safe chars>`` and are stored as SHA-256.

A fast hash is right here: keys carry 256 bits of randomness, so there is nothing
for a slow password hash to protect, and lookups happen on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from relayscope.errors import ServiceUnavailable, Unauthorized

KEY_PREFIX = "sk-relayscope-"


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: str
    key_id: str


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

    When the store cannot answer (``lookup`` raises one of ``unavailable``), a key
    resolved before keeps its last answer, asked again at most once per ``ttl``, so
    traffic goes on through a store outage; a key never seen gets a 503. A key
    revoked during the outage therefore works until the store is back.
    """

    def __init__(
        self,
        lookup: Lookup,
        *,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        unavailable: tuple[type[BaseException], ...] = (),
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._max = max_entries
        self._unavailable = unavailable
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def resolve(self, header_value: str | None, header: str) -> Principal:
        key = parse_bearer(header_value, header)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            try:
                principal = await self._lookup(hash_key(key))
            except self._unavailable:
                if cached is None:
                    raise _store_down(header) from None
                principal = cached[1]
            if len(self._cache) >= self._max:
                self._cache.clear()
            self._cache[key] = (now + self._ttl, principal)
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
