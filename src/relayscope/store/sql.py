"""The SQL store: SQLAlchemy Core over aiosqlite (embedded) or asyncpg (Postgres)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from relayscope.auth.keys import Principal, hash_key, new_key
from relayscope.logs.record import LogRecord
from relayscope.store import migrate
from relayscope.store.base import KeyInfo, Org, Page, RequestFilter, StoreUnavailable
from relayscope.store.schema import api_keys, orgs, requests

_LIST_COLUMNS = [c for c in requests.c if c.name not in ("request_body", "response_body")]


def engine_url(url: str) -> str:
    """SQLAlchemy URL for a RelayScope store URL."""
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    raise ValueError(f"Unsupported database URL {url!r}: use sqlite:///path or postgresql://...")


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class SqlStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        if self.dialect == "sqlite":
            Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(
                parents=True, exist_ok=True
            )
        # Parameters are request data (whole log records): keep them out of error messages.
        self.engine: AsyncEngine = create_async_engine(engine_url(url), hide_parameters=True)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(migrate.upgrade)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def ensure_org(self, name: str) -> Org:
        existing = await self.get_org(name)
        if existing:
            return existing
        org = Org(id=str(uuid.uuid4()), name=name, created_at=_now())
        async with self.engine.begin() as conn:
            await conn.execute(
                orgs.insert().values(id=org.id, name=org.name, created_at=org.created_at)
            )
        return org

    async def get_org(self, name: str) -> Org | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(orgs).where(orgs.c.name == name))).first()
        return Org(row.id, row.name, _utc(row.created_at)) if row else None

    async def count_orgs(self) -> int:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(orgs))).scalar_one()

    async def create_key(self, org_id: str, name: str | None = None) -> tuple[KeyInfo, str]:
        plaintext = new_key()
        info = KeyInfo(
            id=str(uuid.uuid4()),
            org_id=org_id,
            prefix=plaintext[:18],
            name=name,
            created_at=_now(),
            revoked_at=None,
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                api_keys.insert().values(
                    id=info.id,
                    org_id=org_id,
                    key_hash=hash_key(plaintext),
                    prefix=info.prefix,
                    name=name,
                    created_at=info.created_at,
                )
            )
        return info, plaintext

    async def list_keys(self, org_id: str) -> list[KeyInfo]:
        query = select(api_keys).where(api_keys.c.org_id == org_id).order_by(api_keys.c.created_at)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            KeyInfo(r.id, r.org_id, r.prefix, r.name, _utc(r.created_at), _utc(r.revoked_at))
            for r in rows
        ]

    async def revoke_key(self, key_id: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
        return result.rowcount > 0

    async def lookup_key(self, key_hash: str) -> Principal | None:
        query = select(api_keys.c.id, api_keys.c.org_id).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
        )
        try:
            async with self.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(_reason(exc)) from exc
        return Principal(org_id=row.org_id, key_id=row.id) if row else None

    async def insert_requests(self, records: Sequence[LogRecord]) -> None:
        if not records:
            return
        insert = (postgresql if self.dialect == "postgresql" else sqlite).insert(requests)
        statement = insert.on_conflict_do_nothing(index_elements=["id"])
        try:
            async with self.engine.begin() as conn:
                await conn.execute(statement, [r.to_row() for r in records])
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(_reason(exc)) from exc

    async def list_requests(
        self, org_id: str, filters: RequestFilter, *, limit: int, cursor: str | None
    ) -> Page:
        query = select(*_LIST_COLUMNS).where(requests.c.org_id == org_id, *_conditions(filters))
        if cursor:
            created_at, last_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    requests.c.created_at < created_at,
                    and_(requests.c.created_at == created_at, requests.c.id < last_id),
                )
            )
        query = query.order_by(requests.c.created_at.desc(), requests.c.id.desc()).limit(limit + 1)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        records = [record_from_row(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = records[-1]
            next_cursor = encode_cursor(last.created_at, last.id)
        return Page(records, next_cursor)

    async def get_request(self, org_id: str, request_id: str) -> LogRecord | None:
        query = select(requests).where(requests.c.org_id == org_id, requests.c.id == request_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return record_from_row(row) if row else None

    async def count_requests(self, org_id: str | None = None) -> int:
        query = select(func.count()).select_from(requests)
        if org_id is not None:
            query = query.where(requests.c.org_id == org_id)
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).scalar_one()


def _reason(exc: BaseException) -> str:
    """The driver's one-line reason, without SQLAlchemy's statement text."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


def _conditions(f: RequestFilter) -> list[Any]:
    c = requests.c
    conditions: list[Any] = []
    for column, value in (
        (c.user_id, f.user_id),
        (c.session_id, f.session_id),
        (c.provider, f.provider),
        (c.request_name, f.request_name),
        (c.prompt_id, f.prompt_id),
        (c.prompt_version, f.prompt_version),
    ):
        if value is not None:
            conditions.append(column == value)
    if f.model is not None:
        conditions.append(or_(c.request_model == f.model, c.response_model == f.model))
    if f.status == "success":
        conditions.append(and_(c.status < 400, c.error.is_(None)))
    elif f.status == "error":
        conditions.append(or_(c.status >= 400, c.error.is_not(None)))
    elif f.status is not None:
        conditions.append(c.status == f.status)
    for name, value in f.properties:
        conditions.append(c.properties[name].as_string() == value)
    if f.since is not None:
        conditions.append(c.created_at >= f.since)
    if f.until is not None:
        conditions.append(c.created_at < f.until)
    return conditions


def record_from_row(row: Any) -> LogRecord:
    values = dict(row)
    values["created_at"] = _utc(values["created_at"])
    return LogRecord(**values)


def encode_cursor(created_at: datetime, request_id: str) -> str:
    raw = orjson.dumps([created_at.isoformat(), request_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Inverse of ``encode_cursor``; ValueError for anything it did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, request_id = orjson.loads(raw)
        return datetime.fromisoformat(created_at), str(request_id)
    except (ValueError, TypeError) as exc:
        raise ValueError("not a cursor this API returned") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(url: str) -> SqlStore:
    return SqlStore(url)
