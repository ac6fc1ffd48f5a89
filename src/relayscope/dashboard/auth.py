"""Dashboard sign-in: a gateway key buys a server-side session.

The cookie holds a random token; ``dashboard_sessions`` holds its SHA-256, the
org, the key it was opened with and a CSRF token for the session's forms. A
session ends at sign-out, at expiry, or as soon as its key is revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select
from starlette.requests import Request
from starlette.responses import Response

from relayscope.auth.keys import KEY_PREFIX, Principal, hash_key
from relayscope.store.database import Database
from relayscope.store.schema import api_keys, dashboard_sessions, orgs

COOKIE = "relayscope_session"
LOGIN_CSRF_COOKIE = "relayscope_signin_csrf"
PATH = "/dashboard"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Session:
    org_id: str
    org_name: str
    key_id: str
    csrf_token: str
    role: str

    @property
    def principal(self) -> Principal:
        """The signed-in key, as the API's in-process calls name their caller."""
        return Principal(org_id=self.org_id, key_id=self.key_id, role=self.role)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    # Secure cookies work over https and on http://localhost / 127.0.0.1, which
    # browsers treat as secure origins.
    response.set_cookie(
        name, value, max_age=max_age, path=PATH, secure=True, httponly=True, samesite="lax"
    )


def clear_cookie(response: Response, name: str) -> None:
    response.delete_cookie(name, path=PATH, secure=True, httponly=True, samesite="lax")


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Sessions:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def sign_in(self, key: str) -> tuple[str, Session] | None:
        """A new session for ``key``: (cookie token, session), or None for a bad key."""
        key = key.strip()
        if not key.startswith(KEY_PREFIX):
            return None
        now = datetime.now(UTC)
        async with self.database.begin() as conn:
            row = (
                await conn.execute(
                    select(api_keys.c.id, api_keys.c.org_id, api_keys.c.role, orgs.c.name)
                    .join(orgs, orgs.c.id == api_keys.c.org_id)
                    .where(
                        api_keys.c.key_hash == hash_key(key),
                        api_keys.c.revoked_at.is_(None),
                        _unexpired(now),
                    )
                )
            ).first()
            if row is None:
                return None
            await conn.execute(
                delete(dashboard_sessions).where(dashboard_sessions.c.expires_at < now)
            )
            token = secrets.token_urlsafe(32)
            csrf = secrets.token_urlsafe(32)
            await conn.execute(
                dashboard_sessions.insert().values(
                    id=_digest(token),
                    org_id=row.org_id,
                    key_id=row.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + LIFETIME,
                )
            )
        return token, Session(row.org_id, row.name, row.id, csrf, row.role)

    async def current(self, request: Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        s = dashboard_sessions.c
        query = (
            select(s.org_id, orgs.c.name, s.key_id, s.csrf_token, api_keys.c.role)
            .join(orgs, orgs.c.id == s.org_id)
            .join(api_keys, api_keys.c.id == s.key_id)
            .where(
                s.id == _digest(token),
                s.expires_at > datetime.now(UTC),
                api_keys.c.revoked_at.is_(None),
                _unexpired(datetime.now(UTC)),
            )
        )
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return Session(row.org_id, row.name, row.key_id, row.csrf_token, row.role)

    async def sign_out(self, request: Request) -> None:
        token = request.cookies.get(COOKIE)
        if token:
            async with self.database.begin() as conn:
                await conn.execute(
                    delete(dashboard_sessions).where(dashboard_sessions.c.id == _digest(token))
                )


def _unexpired(now: datetime) -> ColumnElement[bool]:
    """The key has no expiry or has not reached it (a virtual key's ``expires_at``)."""
    return or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now)
