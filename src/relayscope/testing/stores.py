"""Store URLs for tests, so one test runs on every backend: SQLite and Postgres."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy import select

from relayscope.store.schema import requests
from relayscope.store.sql import SqlStore
from relayscope.testing.postgres import PostgresDatabases, run_sync

BACKENDS = ("sqlite", "postgres")


class StoreUrls:
    """Hands out fresh, empty stores of one backend."""

    def __init__(self, backend: str, postgres: PostgresDatabases | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown store backend {backend!r}: use one of {BACKENDS}")
        if backend == "postgres" and postgres is None:
            raise ValueError("the postgres backend needs a PostgresDatabases")
        self.backend = backend
        self.postgres = postgres

    def new(self, directory: Path) -> str:
        """A new empty store: a SQLite file in ``directory``, or a new Postgres database."""
        if self.postgres is not None:
            return self.postgres.create()
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory}/relayscope.db"

    def discard(self, url: str) -> None:
        if self.postgres is not None:
            self.postgres.drop(url)


def stored_ids(database_url: str, org_id: str) -> set[str]:
    """Ids of the request records stored for ``org_id``, read straight from the store."""

    async def work() -> set[str]:
        store = SqlStore(database_url, pool_size=1)
        try:
            query = select(requests.c.id).where(requests.c.org_id == org_id)
            async with store.database.connect() as conn:
                return set((await conn.execute(query)).scalars())
        finally:
            await store.close()

    return run_sync(work())


def store_contents(database_url: str) -> bytes:
    """Every byte the store holds: the SQLite file, or a full dump of the Postgres database."""
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        # Recent writes may still sit in the write-ahead log beside the file.
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    dump = subprocess.run(["pg_dump", database_url], capture_output=True, check=True, timeout=60)
    return dump.stdout
