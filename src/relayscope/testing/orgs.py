"""Orgs and keys for tests, made directly in a gateway's store, and record look-ups."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from relayscope.auth.keys import ADMIN
from relayscope.store.sql import SqlStore
from relayscope.testing.waiting import wait_until


@dataclass(frozen=True)
class OrgKey:
    name: str
    org_id: str
    key_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        """Headers that authenticate a proxied request."""
        return {"Helicone-Auth": f"Bearer {self.key}"}

    @property
    def bearer(self) -> dict[str, str]:
        """Headers that authenticate an API request."""
        return {"Authorization": f"Bearer {self.key}"}


class HasUrl(Protocol):
    url: str


def create_org(database_url: str, name: str | None = None, *, role: str = ADMIN) -> OrgKey:
    """An org (made unless ``name`` exists) and a new key of it: by default an admin
    key, as the first key of an org made by ``relayscope serve`` is."""
    return asyncio.run(_create_org(database_url, name or f"org-{uuid.uuid4().hex[:10]}", role))


async def _create_org(database_url: str, name: str, role: str) -> OrgKey:
    store = SqlStore(database_url)
    try:
        org = await store.ensure_org(name)
        info, key = await store.create_key(org.id, role=role)
    finally:
        await store.close()
    return OrgKey(name=name, org_id=org.id, key_id=info.id, key=key)


def wait_for_record(
    gateway: HasUrl, org: OrgKey, request_id: str, timeout: float = 10.0
) -> dict[str, Any]:
    """The stored record of ``request_id``, once the log writer has written it."""
    with httpx.Client(base_url=gateway.url, headers=org.bearer, timeout=10) as client:

        def fetch() -> dict[str, Any] | None:
            response = client.get(f"/api/requests/{request_id}")
            return response.json()["data"] if response.status_code == 200 else None

        return wait_until(fetch, timeout=timeout)
