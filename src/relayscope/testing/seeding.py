"""Seeding request records straight into a store, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore


def make_record(org_id: str, created_at: datetime, **fields: Any) -> LogRecord:
    """A plausible successful chat-completion record; ``fields`` override any column."""
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "org_id": org_id,
        "created_at": created_at,
        "provider": "openai",
        "path": "/openai/v1/chat/completions",
        "request_model": "gpt-4o-mini",
        "status": 200,
        "latency_ms": 10.0,
    }
    values.update(fields)
    return LogRecord(**values)


def insert_records(database_url: str, records: list[LogRecord]) -> None:
    async def run() -> None:
        store = SqlStore(database_url)
        try:
            await store.insert_requests(records)
        finally:
            await store.close()

    asyncio.run(run())


def seed_records(
    database_url: str, org_id: str, times: Iterable[datetime], **fields: Any
) -> list[str]:
    """Insert one record per timestamp; returns their ids."""
    records = [make_record(org_id, at, **fields) for at in times]
    insert_records(database_url, records)
    return [r.id for r in records]
