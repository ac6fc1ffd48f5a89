"""An in-process gateway whose request logs live on one engine: SQLite, Postgres or
ClickHouse (chDB behind its HTTP interface, beside a SQLite store that keeps the keys).

For tests whose behaviour is the engine's (filters, paging, counts): one gateway per
engine, seeded once, serves every test of a module that only reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.clickhouse_http import ClickHouseHttp
from relayscope.testing.postgres import PostgresDatabases
from relayscope.testing.stores import StoreUrls

ENGINES = ("sqlite", "postgres", "clickhouse")


def backend_of(engine: str) -> str:
    """The store backend an engine needs (ClickHouse's keys sit in SQLite)."""
    return "postgres" if engine == "postgres" else "sqlite"


@contextmanager
def gateway_on_engine(
    engine: str, directory: Path, postgres: PostgresDatabases | None = None
) -> Iterator[AsgiGateway]:
    """A started gateway logging to a new, empty ``engine``; its store is dropped after."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: use one of {ENGINES}")
    stores = StoreUrls(backend_of(engine), postgres)
    store_url = stores.new(directory / "store")
    env = {"RELAYSCOPE_DATABASE_URL": store_url}
    try:
        with ExitStack() as started:
            if engine == "clickhouse":
                clickhouse = started.enter_context(ClickHouseHttp(directory / "clickhouse"))
                env["RELAYSCOPE_LOGS_URL"] = clickhouse.url()
            yield started.enter_context(AsgiGateway(directory / "gateway", env))
    finally:
        stores.discard(store_url)
