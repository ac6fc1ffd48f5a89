"""Deleting a user's data and retention remove the scores of the records they remove,
and only those."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relayscope.governance.repository import GovernanceRepository
from relayscope.governance.service import Governance, GovernanceSettings
from relayscope.record import LogRecord
from relayscope.store import scores
from relayscope.store.schema import request_scores
from relayscope.store.sql import SqlStore
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import running_gateway

NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
async def store(store_url):
    store = SqlStore(store_url)
    await store.migrate()
    yield store
    await store.close()


def record(org_id: str, days_old: int) -> LogRecord:
    return LogRecord(
        id=str(uuid.uuid4()),
        org_id=org_id,
        created_at=NOW - timedelta(days=days_old),
        provider="openai",
        path="/v1/chat/completions",
        status=200,
        latency_ms=1.0,
    )


async def test_retention_removes_expired_records_scores_and_old_orphans(store):
    org = await store.ensure_org("kept-30-days")
    old, recent = record(org.id, 40), record(org.id, 2)
    await store.insert_requests([old, recent])
    for r in (old, recent):
        await scores.save(store.database, org.id, r.id, {"accuracy": 1.0, scores.FEEDBACK: True})
    # A score whose record never arrived, last changed long before the cut-off.
    await scores.save(store.database, org.id, "never-arrived", {"accuracy": 0.5})
    async with store.database.begin() as conn:
        await conn.execute(
            request_scores.update()
            .where(request_scores.c.request_id == "never-arrived")
            .values(updated_at=NOW - timedelta(days=45))
        )
    repo = GovernanceRepository(store.database)
    await repo.set_retention(org.id, 30)
    await Governance(repo, GovernanceSettings()).enforce_retention(now=NOW)

    assert await scores.of_request(store.database, org.id, old.id) == []
    assert await scores.of_request(store.database, org.id, "never-arrived") == []
    kept = await scores.of_request(store.database, org.id, recent.id)
    assert {row["name"] for row in kept} == {"accuracy", scores.FEEDBACK}


async def test_deleting_a_user_removes_their_scores_only(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with running_gateway(tmp_path, fake.url, database_url=store_url) as gw:
        ids = {}
        for user in ("alice", "bob"):
            answer = await gw.client.post(
                "/openai/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": user}]},
                headers={"Helicone-User-Id": user},
            )
            ids[user] = answer.headers["helicone-id"]
        _info, admin_key = await gw.gateway.store.create_key(gw.org_id, role="admin")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gw.gateway),
            base_url="http://gateway",
            headers={"Authorization": f"Bearer {admin_key}"},
        ) as api:
            for request_id in ids.values():
                posted = await api.post(
                    f"/v1/request/{request_id}/score", json={"scores": {"helpful": True}}
                )
                assert posted.status_code == 200, posted.text
            deleted = await api.delete("/api/data/users/alice")
            assert deleted.status_code == 200, deleted.text
            assert (await api.get(f"/api/requests/{ids['alice']}")).status_code == 404
            bob = (await api.get(f"/api/requests/{ids['bob']}")).json()["data"]
        assert bob["scores"] == {"helpful": True}
        assert await scores.of_request(gw.gateway.store.database, gw.org_id, ids["alice"]) == []
