"""The explorer's value sorts walk an index on SQLite: a page sorted by cost, latency
or tokens reads a page of rows, not the whole org sorted; a rare user's page starts
from that user's rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from relayscope.store.base import RequestFilter
from relayscope.store.order import Sort
from relayscope.store.sql import SqlStore
from relayscope.testing.seed import records


def _plan(path: str, statement: str, parameters: Any) -> str:
    with sqlite3.connect(path) as db:
        rows = db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("by", ["cost", "latency", "tokens"])
async def test_a_value_sort_walks_its_index_and_a_rare_user_starts_from_theirs(tmp_path, by):
    path = str(tmp_path / "s.db")
    store = SqlStore(f"sqlite:///{path}")
    try:
        await store.migrate()
        org = await store.ensure_org("a")
        made = list(records(org.id, 400, days=1, end=datetime.now(UTC), seed=3, users=5))
        await store.insert_requests(made)
        seen: list[tuple[str, Any]] = []

        def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:
            if "FROM requests" in statement and "ORDER BY" in statement:
                seen.append((statement, parameters))

        event.listen(store.engine.sync_engine, "before_cursor_execute", grab)
        sort = Sort(by)
        page = await store.list_requests(org.id, RequestFilter(), limit=20, cursor=None, sort=sort)
        nxt = await store.list_requests(
            org.id, RequestFilter(), limit=20, cursor=page.next_cursor, sort=sort
        )
        mine = await store.list_requests(
            org.id, RequestFilter(user_id="user-0003"), limit=20, cursor=None, sort=sort
        )
        (first, *_), (second, *_), (rare, *_) = seen
        assert f"ix_requests_org_{by}" in _plan(path, first, seen[0][1])
        assert "TEMP B-TREE" not in _plan(path, first, seen[0][1])
        assert f"ix_requests_org_{by}" in _plan(path, second, seen[1][1])
        assert "ix_requests_org_user" in _plan(path, rare, seen[2][1])

        # and the pages are the sorted order itself
        column = {"cost": "cost_usd", "latency": "latency_ms", "tokens": "total_tokens"}[by]

        def key(r: Any) -> tuple[float, str]:
            value = getattr(r, column)
            return (-1.0 if value is None else float(value), r.id)

        expected = sorted(made, key=key, reverse=True)
        assert [r.id for r in page.records + nxt.records] == [r.id for r in expected[:40]]
        theirs = [r for r in expected if r.user_id == "user-0003"][:20]
        assert [r.id for r in mine.records] == [r.id for r in theirs]
    finally:
        await store.close()
