"""Seeding request records straight into a store, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime

from relayscope.logs.record import LogRecord
from relayscope.store.sql import SqlStore


def seed_records(
    database_url: str, org_id: str, times: Iterable[datetime], **fields: object
) -> list[str]:
    """Insert one record per timestamp; returns their ids."""
    records = [
        LogRecord(
            id=str(uuid.uuid4()),
            org_id=org_id,
            created_at=at,
            provider="openai",
            path="/openai/v1/chat/completions",
            request_model="gpt-4o-mini",
            status=200,
            latency_ms=10.0,
            **fields,  # type: ignore[arg-type]
        )
        for at in times
    ]

    async def run() -> None:
        store = SqlStore(database_url)
        try:
            await store.insert_requests(records)
        finally:
            await store.close()

    asyncio.run(run())
    return [r.id for r in records]
