"""Log ingestion into PostgreSQL: records/s through `SqlStore.insert_requests`.

A micro-benchmark of the log writer's write path: a fresh database (created and
dropped with psql), the schema migrated, then N synthetic records (the dashboard
seeder's generator) inserted in batches of 500, the size the log writer uses, one
batch at a time. Reports records/s over the whole run, batch latency P50/P99, and
how many rows the table holds afterwards; lost = inserted ids the table lacks
(counted by id, so an extra row cannot hide a missing one).

    python -m bench.ingest [--records 20000] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import time
from typing import Any

from bench.procs import HOST
from bench.stats import median
from bench.targets import _psql

DEFAULT_RECORDS = 20_000
DEFAULT_BATCH = 500


async def _insert(url: str, records: int, batch: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from relayscope.store.schema import requests
    from relayscope.store.sql import SqlStore
    from relayscope.testing.seed import records as synthetic

    store = SqlStore(url)
    try:
        await store.migrate()
        org = await store.ensure_org("bench-ingest")
        rows = list(synthetic(org.id, records, days=1, end=datetime.now(UTC), seed=7, users=200))
        batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
        times: list[float] = []
        inserted = 0
        started = time.perf_counter()
        for chunk in batches:
            t0 = time.perf_counter()
            inserted += await store.insert_requests(chunk)
            times.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - started
        counted = await store.count_requests(org.id)
        async with store.database.connect() as conn:
            query = select(requests.c.id).where(requests.c.org_id == org.id)
            stored = set((await conn.execute(query)).scalars())
        missing = {row.id for row in rows} - stored
    finally:
        await store.close()
    times.sort()
    return {
        "records": records,
        "batch_size": batch,
        "batches": len(batches),
        "inserted": inserted,
        "counted": counted,
        "lost": len(missing),
        "seconds": round(elapsed, 3),
        "records_per_s": round(records / elapsed, 1) if elapsed > 0 else None,
        "batch_p50_ms": round(median(times) or 0.0, 2),
        "batch_p99_ms": round(times[min(len(times) - 1, int(0.99 * len(times)))], 2),
    }


def run_ingest(records: int = DEFAULT_RECORDS, batch: int = DEFAULT_BATCH) -> dict[str, Any]:
    """Create a fresh database, insert, count, drop. Raises on any failure."""
    psql = shutil.which("psql")
    if not psql:
        raise RuntimeError("psql not found: cannot create a fresh PostgreSQL database")
    db = f"relayscope_bench_ingest_{os.getpid()}_{secrets.token_hex(3)}"
    _psql(psql, "postgres", f'CREATE DATABASE "{db}"')
    try:
        url = f"postgresql://postgres@{HOST}:5432/{db}"
        return asyncio.run(_insert(url, records, batch))
    finally:
        _psql(psql, "postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    ap.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    ap.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    a = ap.parse_args()
    print(json.dumps(run_ingest(a.records, a.batch), indent=2))


if __name__ == "__main__":
    main()
