"""The SQL database behind a ``SqlStore``, as the features see it.

Features (governance, prompts, rate-limit policies, provider keys, alerts, webhooks,
analytics, the cache's persisted entries, dashboard sessions) keep their own tables in
the configuration store's database (``store/schema.py``). They reach it through
``ConfigStore.database``: a ``Database`` opens connections and transactions and names
its dialect. The engine behind it (its pool, its disposal, the SQLite batch engine)
stays the store's, so no feature can close it or depend on how it is built.

A log-only store (``ClickHouseLogStore``) is no ``ConfigStore`` and has no ``database``:
code typed against ``LogStore`` cannot ask it for one.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Dialect = Literal["sqlite", "postgresql"]


class Database:
    __slots__ = ("_engine", "dialect")

    def __init__(self, engine: AsyncEngine, dialect: Dialect) -> None:
        self._engine = engine
        self.dialect: Dialect = dialect
        """The SQL dialect, for the few statements the two databases spell differently."""

    def connect(self) -> AsyncConnection:
        """``async with database.connect() as conn``: a connection, for reads."""
        return self._engine.connect()

    def begin(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """``async with database.begin() as conn``: a transaction, committed on exit."""
        return self._engine.begin()
