"""Every dashboard response says how long the server took, in ``Server-Timing``."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from relayscope.dashboard import create_dashboard
from relayscope.store.sql import SqlStore

SERVER_TIMING = re.compile(r"^app;dur=(\d+\.\d)$")


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'd.db'}")
    await store.migrate()
    yield store
    await store.close()


async def test_pages_and_redirects_carry_their_server_time(store):
    app = create_dashboard(store=store, api=Starlette())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        for path, status in (("/dashboard/signin", 200), ("/dashboard/users", 303)):
            response = await client.get(path)
            assert response.status_code == status
            found = SERVER_TIMING.match(response.headers["server-timing"])
            assert found is not None, response.headers["server-timing"]
            assert 0 < float(found.group(1)) < 10_000
