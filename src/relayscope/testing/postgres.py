"""Throw-away Postgres databases for tests: created per test run, dropped afterwards.

Databases are named ``relayscope_test_<pid>_<random>[_<n>]`` so that a run can
clear what an earlier, killed run of its own left behind (its pid is gone)
without touching databases of runs still going on the same server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import uuid
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

from relayscope.logs.spool import _alive

T = TypeVar("T")

ADMIN_URL = os.environ.get(
    "RELAYSCOPE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_NAME = re.compile(r"relayscope_test_(\d+)_[0-9a-f]+(_\d+)?")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion, also from code that is already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def url_for(database: str, admin_url: str = ADMIN_URL) -> str:
    """``admin_url`` with its database replaced by ``database``."""
    return admin_url.rsplit("/", 1)[0] + "/" + database


class PostgresDatabases:
    """Creates databases on one Postgres server and drops every one of them at ``close``."""

    def __init__(self, admin_url: str = ADMIN_URL) -> None:
        self.admin_url = admin_url
        self.run_name = f"relayscope_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def available(self) -> bool:
        """Whether the server answers (tests on Postgres are skipped when it does not)."""
        try:
            run_sync(self._execute("SELECT 1", timeout=3))
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        return True

    def create(self) -> str:
        """A new empty database; returns its URL."""
        name = self.run_name if not self.created else f"{self.run_name}_{len(self.created)}"
        run_sync(self._execute(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return url_for(name, self.admin_url)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        run_sync(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(url_for(name, self.admin_url))

    def drop_orphans(self) -> None:
        """Drop databases left by test runs whose process no longer exists."""

        async def work() -> None:
            conn = await asyncpg.connect(self.admin_url, timeout=5)
            try:
                rows = await conn.fetch(
                    "SELECT datname FROM pg_database WHERE datname LIKE 'relayscope_test_%'"
                )
                for row in rows:
                    match = _NAME.fullmatch(row["datname"])
                    if match and not _alive(int(match.group(1))):
                        await conn.execute(
                            f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)'
                        )
            finally:
                await conn.close()

        run_sync(work())

    async def _execute(self, sql: str, timeout: float = 30) -> None:
        conn = await asyncpg.connect(self.admin_url, timeout=timeout)
        try:
            await conn.execute(sql, timeout=timeout)
        finally:
            await conn.close()
