"""Virtual keys in the store: gateway keys (``api_keys``) with their settings, and the
provider credentials they carry (``api_key_credentials``, Fernet-encrypted like the
org's provider keys, with the last four characters kept for display).

Every read and write is bounded by the org. ``lookup`` is what the gateway's key
resolver calls when a key's answer is not cached: one query, credentials decrypted
then, so a request never decrypts or reads the store. Every change bumps the key's
``revision`` and tells the other gateways (``SqlStore.key_changed``), so cached
answers are dropped as they are for a revocation.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from relayscope.auth.keys import Principal, hash_key, new_key
from relayscope.auth.policy import Globs, KeyPolicy, parse_network
from relayscope.retry.crypto import SecretBox
from relayscope.store.base import StoreUnavailable
from relayscope.store.schema import api_key_credentials, api_keys
from relayscope.store.sql import SqlStore
from relayscope.virtualkeys.spec import KeyChanges, KeySpec, Scopes

log = logging.getLogger("relayscope.auth")

Now = Callable[[], datetime]
PREFIX_CHARS = 18


@dataclass(frozen=True, slots=True)
class CredentialInfo:
    provider: str
    last4: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VirtualKeyInfo:
    """A key as an admin sees it: never its secret, never its credentials' plaintext."""

    id: str
    prefix: str
    name: str | None
    role: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None
    scopes: Scopes
    metadata: dict[str, Any]
    credentials: tuple[CredentialInfo, ...]
    previous_valid_until: datetime | None
    """After a rotation: when the previous secret stops working."""


class VirtualKeys:
    def __init__(self, store: SqlStore, box: SecretBox, *, now: Now | None = None) -> None:
        self._store = store
        self._box = box
        self._now = now or (lambda: datetime.now(UTC))

    async def lookup(self, key_hash: str) -> Principal | None:
        """The principal a secret stands for (``KeyResolver``'s lookup), or None."""
        query = (
            select(
                api_keys.c.id,
                api_keys.c.org_id,
                api_keys.c.role,
                api_keys.c.revision,
                api_keys.c.key_hash,
                api_keys.c.expires_at,
                api_keys.c.scopes,
                api_keys.c.previous_valid_until,
                api_key_credentials.c.provider,
                api_key_credentials.c.ciphertext,
            )
            .select_from(
                api_keys.outerjoin(
                    api_key_credentials, api_key_credentials.c.key_id == api_keys.c.id
                )
            )
            .where(
                or_(api_keys.c.key_hash == key_hash, api_keys.c.previous_key_hash == key_hash),
                api_keys.c.revoked_at.is_(None),
            )
        )
        try:
            async with self._store.database.connect() as conn:
                rows = (await conn.execute(query)).all()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc
        if not rows:
            return None
        first = rows[0]
        return Principal(
            org_id=first.org_id,
            key_id=first.id,
            role=first.role,
            policy=self._policy(rows, retired=first.key_hash != key_hash),
            revision=first.revision,
        )

    def _policy(self, rows: Sequence[Any], *, retired: bool) -> KeyPolicy | None:
        first = rows[0]
        credentials: dict[str, str] = {}
        for row in rows:
            if row.provider is None:
                continue
            plaintext = self._box.decrypt(row.ciphertext)
            if plaintext is None:
                log.warning(
                    "a %s credential of key %s cannot be decrypted with RELAYSCOPE_SECRET_KEY",
                    row.provider,
                    first.id,
                )
                continue
            credentials[row.provider] = plaintext
        scopes = Scopes.from_json(first.scopes)
        retired_at = _epoch(first.previous_valid_until) if retired else None
        if retired and retired_at is None:
            retired_at = 0.0
        expires_at = _epoch(first.expires_at)
        if not (scopes or credentials or expires_at is not None or retired_at is not None):
            return None
        return KeyPolicy(
            providers=Globs(scopes.providers),
            models=Globs(scopes.models),
            max_tokens=scopes.max_tokens,
            expires_at=expires_at,
            retired_at=retired_at,
            networks=tuple(parse_network(n) for n in scopes.ip_allowlist),
            credentials=credentials,
        )

    async def create(self, org_id: str, spec: KeySpec) -> tuple[VirtualKeyInfo, str]:
        """A new key (its secret returned once) with its settings and credentials."""
        secret = new_key()
        key_id = str(uuid.uuid4())
        async with self._store.database.begin() as conn:
            await conn.execute(
                api_keys.insert().values(
                    id=key_id,
                    org_id=org_id,
                    key_hash=hash_key(secret),
                    prefix=secret[:PREFIX_CHARS],
                    name=spec.name,
                    created_at=self._now(),
                    role=spec.role,
                    expires_at=spec.expires_at,
                    scopes=spec.scopes.to_json() if spec.scopes else None,
                    key_metadata=spec.metadata or None,
                )
            )
            await self._set_credentials(conn, org_id, key_id, dict(spec.credentials))
            info = await self._read(conn, org_id, key_id)
        assert info is not None
        return info, secret

    async def list_keys(self, org_id: str) -> list[VirtualKeyInfo]:
        async with self._store.database.connect() as conn:
            return await self._read_all(conn, org_id)

    async def get(self, org_id: str, key_id: str) -> VirtualKeyInfo | None:
        async with self._store.database.connect() as conn:
            return await self._read(conn, org_id, key_id)

    async def update(self, org_id: str, key_id: str, changes: KeyChanges) -> VirtualKeyInfo | None:
        """Apply ``changes`` to an active key of the org; None when there is none."""
        values: dict[str, Any] = {"revision": api_keys.c.revision + 1}
        if "name" in changes.changed:
            values["name"] = changes.name
        if "expires_at" in changes.changed:
            values["expires_at"] = changes.expires_at
        if "scopes" in changes.changed:
            values["scopes"] = changes.scopes.to_json() if changes.scopes else None
        if "metadata" in changes.changed:
            values["key_metadata"] = changes.metadata or None
        async with self._store.database.begin() as conn:
            if not await self._bump(conn, org_id, key_id, values):
                return None
            await self._set_credentials(conn, org_id, key_id, changes.credentials)
            return await self._read(conn, org_id, key_id)

    async def rotate(
        self, org_id: str, key_id: str, grace: timedelta
    ) -> tuple[VirtualKeyInfo, str] | None:
        """A new secret for the key; the current one keeps working for ``grace``.

        A secret rotated out earlier, still in its grace period, stops working now:
        at most two secrets of a key are valid at once.
        """
        secret = new_key()
        keep = grace > timedelta(0)
        values = {
            "previous_key_hash": api_keys.c.key_hash if keep else None,
            "previous_valid_until": self._now() + grace if keep else None,
            "key_hash": hash_key(secret),
            "prefix": secret[:PREFIX_CHARS],
            "revision": api_keys.c.revision + 1,
        }
        async with self._store.database.begin() as conn:
            if not await self._bump(conn, org_id, key_id, values):
                return None
            info = await self._read(conn, org_id, key_id)
        assert info is not None
        return info, secret

    async def revoke(self, org_id: str, key_id: str) -> bool:
        values = {"revoked_at": self._now(), "revision": api_keys.c.revision + 1}
        async with self._store.database.begin() as conn:
            return await self._bump(conn, org_id, key_id, values)

    async def _bump(
        self, conn: AsyncConnection, org_id: str, key_id: str, values: dict[str, Any]
    ) -> bool:
        result = await conn.execute(
            update(api_keys)
            .where(
                api_keys.c.id == key_id,
                api_keys.c.org_id == org_id,
                api_keys.c.revoked_at.is_(None),
            )
            .values(**values)
        )
        await self._store.key_changed(conn, key_id, result.rowcount)
        return bool(result.rowcount)

    async def _set_credentials(
        self, conn: AsyncConnection, org_id: str, key_id: str, credentials: dict[str, str | None]
    ) -> None:
        for provider, key in credentials.items():
            await conn.execute(
                delete(api_key_credentials).where(
                    api_key_credentials.c.key_id == key_id,
                    api_key_credentials.c.provider == provider,
                )
            )
            if key is None:
                continue
            await conn.execute(
                api_key_credentials.insert().values(
                    id=str(uuid.uuid4()),
                    org_id=org_id,
                    key_id=key_id,
                    provider=provider,
                    ciphertext=self._box.encrypt(key),
                    last4=key[-4:],
                    created_at=self._now(),
                )
            )

    async def _read(self, conn: AsyncConnection, org_id: str, key_id: str) -> VirtualKeyInfo | None:
        found = await self._read_all(conn, org_id, key_id)
        return found[0] if found else None

    async def _read_all(
        self, conn: AsyncConnection, org_id: str, key_id: str | None = None
    ) -> list[VirtualKeyInfo]:
        keys = select(api_keys).where(api_keys.c.org_id == org_id)
        creds = select(
            api_key_credentials.c.key_id,
            api_key_credentials.c.provider,
            api_key_credentials.c.last4,
            api_key_credentials.c.created_at,
        ).where(api_key_credentials.c.org_id == org_id)
        if key_id is not None:
            keys = keys.where(api_keys.c.id == key_id)
            creds = creds.where(api_key_credentials.c.key_id == key_id)
        key_rows = (await conn.execute(keys.order_by(api_keys.c.created_at, api_keys.c.id))).all()
        by_key: dict[str, list[CredentialInfo]] = {}
        for row in (await conn.execute(creds.order_by(api_key_credentials.c.provider))).all():
            info = CredentialInfo(row.provider, row.last4, _aware(row.created_at))
            by_key.setdefault(row.key_id, []).append(info)
        return [
            VirtualKeyInfo(
                id=row.id,
                prefix=row.prefix,
                name=row.name,
                role=row.role,
                created_at=_aware(row.created_at),
                revoked_at=_maybe(row.revoked_at),
                expires_at=_maybe(row.expires_at),
                scopes=Scopes.from_json(row.scopes),
                metadata=row.key_metadata or {},
                credentials=tuple(by_key.get(row.id, ())),
                previous_valid_until=_maybe(row.previous_valid_until),
            )
            for row in key_rows
        ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else _aware(value).timestamp()
