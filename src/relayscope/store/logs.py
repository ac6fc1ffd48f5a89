"""Opening the log store named by ``RELAYSCOPE_LOGS_URL`` (when logs live apart from config)."""

from __future__ import annotations

from relayscope.store.base import LogStore
from relayscope.store.sql import open_store


def open_log_store(url: str) -> LogStore:
    """A log store for ``url``: ClickHouse (``clickhouse://``, ``clickhouses://``, ``chdb://``)
    or a SQL database (``sqlite:///``, ``postgresql://``)."""
    if url.startswith(("clickhouse://", "clickhouses://", "chdb://")):
        from relayscope.store.clickhouse import ClickHouseLogStore

        return ClickHouseLogStore(url)
    return open_store(url)
