"""The soak's store side: a fresh database, the outage switch, and reading records back."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.procs import HOST, StartError
from bench.targets import _psql


@dataclass
class StoredRow:
    id: str
    status: int
    cancelled: bool
    error: bool


class SoakStore:
    """One store under test. `down()`/`up()` switch the outage; `rows()` reads it back."""

    kind = ""
    url = ""

    def down(self) -> None:
        raise NotImplementedError

    def up(self) -> None:
        raise NotImplementedError

    def rows(self) -> list[StoredRow] | None:
        """Every stored record, or None while the store cannot be read."""
        raise NotImplementedError


class SqliteStore(SoakStore):
    """The outage is an exclusive lock held from this process: the gateway's writes
    wait out their busy timeout and fail with "database is locked"."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self._blocker: sqlite3.Connection | None = None

    def down(self) -> None:
        self._blocker = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._blocker.execute("BEGIN EXCLUSIVE")

    def up(self) -> None:
        if self._blocker is not None:
            with contextlib.suppress(sqlite3.Error):
                self._blocker.execute("ROLLBACK")
            self._blocker.close()
            self._blocker = None

    def rows(self) -> list[StoredRow] | None:
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            ) as db:
                found = db.execute(
                    "SELECT id, status, cancelled, error IS NOT NULL FROM requests"
                ).fetchall()
        except sqlite3.Error:
            return None
        return [StoredRow(r[0], int(r[1]), bool(r[2]), bool(r[3])) for r in found]


class PostgresStore(SoakStore):
    """A fresh database on the local server, dropped afterwards. The outage refuses
    new connections to it and terminates the gateway's open ones."""

    kind = "postgres"

    def __init__(self, psql: str, stack: ExitStack) -> None:
        self.psql = psql
        self.db = f"relayscope_soak_{os.getpid()}_{secrets.token_hex(3)}"
        _psql(psql, "postgres", f'CREATE DATABASE "{self.db}"')
        stack.callback(self._drop)
        self.url = f"postgresql://postgres@{HOST}:5432/{self.db}"

    def _drop(self) -> None:
        with contextlib.suppress(StartError, subprocess.SubprocessError):
            self.up()
            _psql(self.psql, "postgres", f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')

    def down(self) -> None:
        _psql(self.psql, "postgres", f'ALTER DATABASE "{self.db}" ALLOW_CONNECTIONS false')
        _psql(
            self.psql,
            "postgres",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = '{self.db}' AND pid <> pg_backend_pid()",
        )

    def up(self) -> None:
        _psql(self.psql, "postgres", f'ALTER DATABASE "{self.db}" ALLOW_CONNECTIONS true')

    def rows(self) -> list[StoredRow] | None:
        try:
            out = _psql(
                self.psql,
                self.db,
                "SELECT id || '|' || status || '|' || cancelled::int || '|' "
                "|| (error IS NOT NULL)::int FROM requests",
                60,
            )
        except (StartError, subprocess.SubprocessError):
            return None
        rows = []
        for line in out.splitlines():
            rid, status, cancelled, error = line.split("|")
            rows.append(StoredRow(rid, int(status), cancelled == "1", error == "1"))
        return rows
