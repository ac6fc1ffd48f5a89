"""Rollups: built incrementally per batch they equal a rebuild from the log; latency bins."""

from __future__ import annotations

import asyncio
import math

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from relayscope.store import rollup
from relayscope.store.schema import (
    daily_rollups,
    latency_histogram,
    model_rollups,
    request_rollups,
    session_rollups,
)
from relayscope.store.sql import SqlStore
from relayscope.testing import dataset as ds


def snapshot(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: sorted(
                    tuple(round(v, 6) if isinstance(v, float) else v for v in row)
                    for row in conn.execute(select(table))
                )
                for table in (
                    request_rollups,
                    daily_rollups,
                    model_rollups,
                    latency_histogram,
                    session_rollups,
                )
            }
    finally:
        engine.dispose()


def test_incremental_rollups_equal_a_rebuild(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"

    async def fill() -> None:
        store = SqlStore(url)
        await store.migrate()
        org = await store.ensure_org("a")
        records = ds.dataset(org.id)
        for start in range(0, len(records), 97):  # batches that cut hours and sessions
            batch = records[start : start + 97]
            # a replay of the previous batch's tail, and an id repeated within the batch
            replayed = records[max(0, start - 5) : start]
            await store.insert_requests([*replayed, *batch, batch[0]])
        await store.close()

    asyncio.run(fill())
    incremental = snapshot(url)
    assert len(incremental["request_rollups"]) > 50
    assert len(incremental["model_rollups"]) > 50
    assert len(incremental["daily_rollups"]) > 20
    assert len(incremental["session_rollups"]) == 1
    engine = create_engine(url)
    with engine.begin() as conn:
        assert rollup.rebuild(conn, chunk=500) == 2110
    engine.dispose()
    assert snapshot(url) == incremental


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_every_latency_falls_inside_its_bin(latency):
    b = rollup.latency_bin(latency)
    assert rollup.bin_floor(b) <= latency < rollup.bin_floor(b + 1)


def test_zero_latency_has_the_lowest_bin():
    assert rollup.latency_bin(0.0) == rollup.MIN_BIN
    assert rollup.bin_floor(rollup.MIN_BIN) == -math.inf
