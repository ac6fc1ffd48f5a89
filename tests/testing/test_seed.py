"""The seeding script fills a store the analytics API can read at once."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner

from relayscope.analytics.repository import Analytics
from relayscope.auth.keys import hash_key
from relayscope.store.base import RequestFilter
from relayscope.store.sql import SqlStore
from relayscope.testing.seed import main


def test_seed_inserts_rows_and_rollups(tmp_path):
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    result = CliRunner().invoke(main, ["--rows", "1500", "--db", url, "--days", "2"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("sk-relayscope-")

    async def check() -> tuple[int, int, int]:
        store = SqlStore(url)
        try:
            principal = await store.lookup_key(hash_key(key))
            assert principal is not None
            totals = await Analytics(store.database).aggregate(principal.org_id, RequestFilter())
            total = totals[(None, None)]
            errors = await store.list_requests(
                principal.org_id, RequestFilter(status="error"), limit=1000, cursor=None
            )
            return total.requests, total.errors, len(errors.records)
        finally:
            await store.close()

    requests, errors, listed_errors = asyncio.run(check())
    assert requests == 1500
    assert errors == listed_errors > 0
