"""Operator-configured provider keys per org: encrypted in the store, cached in memory.

Used by cross-provider fallbacks when the entry brings no credentials of its own.
Plaintext keys exist only in this process's memory; the store holds Fernet tokens
and the last four characters (to recognise a key in a list).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from relayscope.retry.crypto import SecretBox
from relayscope.store.database import Database
from relayscope.store.schema import provider_keys

log = logging.getLogger("relayscope.retry")


@dataclass(frozen=True, slots=True)
class ProviderKeyInfo:
    provider: str
    created_at: datetime
    last4: str


class ProviderKeys:
    def __init__(
        self, database: Database, box: SecretBox, *, ttl: float = 30.0, max_orgs: int = 10_000
    ) -> None:
        self._database = database
        self._box = box
        self._ttl = ttl
        self._max_orgs = max_orgs
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}

    async def get(self, org_id: str, provider: str) -> str | None:
        """The org's key for ``provider``; the store is read at most once per ``ttl``."""
        now = time.monotonic()
        cached = self._cache.get(org_id)
        if cached is None or cached[0] <= now:
            keys = await self._load(org_id)
            if len(self._cache) >= self._max_orgs:
                self._cache.clear()
            cached = self._cache[org_id] = (now + self._ttl, keys)
        return cached[1].get(provider)

    async def set(self, org_id: str, provider: str, key: str) -> ProviderKeyInfo:
        info = ProviderKeyInfo(provider, datetime.now(UTC), key[-4:])
        values = {
            "ciphertext": self._box.encrypt(key),
            "last4": info.last4,
            "created_at": info.created_at,
        }
        async with self._database.begin() as conn:
            result = await conn.execute(
                update(provider_keys)
                .where(provider_keys.c.org_id == org_id, provider_keys.c.provider == provider)
                .values(**values)
            )
            if result.rowcount == 0:
                await conn.execute(
                    provider_keys.insert().values(
                        id=str(uuid.uuid4()), org_id=org_id, provider=provider, **values
                    )
                )
        self._cache.pop(org_id, None)
        return info

    async def delete(self, org_id: str, provider: str) -> bool:
        async with self._database.begin() as conn:
            result = await conn.execute(
                delete(provider_keys).where(
                    provider_keys.c.org_id == org_id, provider_keys.c.provider == provider
                )
            )
        self._cache.pop(org_id, None)
        return result.rowcount > 0

    async def list(self, org_id: str) -> list[ProviderKeyInfo]:
        query = (
            select(provider_keys.c.provider, provider_keys.c.created_at, provider_keys.c.last4)
            .where(provider_keys.c.org_id == org_id)
            .order_by(provider_keys.c.provider)
        )
        async with self._database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [ProviderKeyInfo(r.provider, _utc(r.created_at), r.last4) for r in rows]

    async def _load(self, org_id: str) -> dict[str, str]:
        query = select(provider_keys.c.provider, provider_keys.c.ciphertext).where(
            provider_keys.c.org_id == org_id
        )
        async with self._database.connect() as conn:
            rows = (await conn.execute(query)).all()
        keys = {}
        for row in rows:
            plaintext = self._box.decrypt(row.ciphertext)
            if plaintext is None:
                log.warning(
                    "provider key for %s (org %s) cannot be decrypted with RELAYSCOPE_SECRET_KEY",
                    row.provider,
                    org_id,
                )
                continue
            keys[row.provider] = plaintext
        return keys


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
