"""Retention sweeps against a real store: an out-of-range retention, from the
environment or stored for an org, is clamped and never deletes everything nor stops
the sweep."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from relayscope.governance.repository import GovernanceRepository
from relayscope.governance.service import MAX_RETENTION_DAYS, Governance, GovernanceSettings
from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore

NOW = datetime(2026, 6, 1, tzinfo=UTC)
AGES = [0, 2, 40, 400, 40_000]
"""Days before NOW of each seeded record; the oldest is past the longest retention."""
assert AGES[-1] > MAX_RETENTION_DAYS


@pytest.fixture
async def store(store_url):
    store = SqlStore(store_url)
    await store.migrate()
    yield store
    await store.close()


async def seed(store: SqlStore, org_name: str) -> dict[int, str]:
    org = await store.ensure_org(org_name)
    ids = {age: str(uuid.uuid4()) for age in AGES}
    await store.insert_requests(
        [
            LogRecord(
                id=request_id,
                org_id=org.id,
                created_at=NOW - timedelta(days=age, hours=1),
                provider="openai",
                path="/v1/chat/completions",
                status=200,
                latency_ms=1.0,
            )
            for age, request_id in ids.items()
        ]
    )
    return ids


async def kept_ages(store: SqlStore, org_name: str, ids: dict[int, str]) -> list[int]:
    org = await store.get_org(org_name)
    assert org is not None
    return [age for age, rid in ids.items() if await store.get_request(org.id, rid)]


@pytest.mark.parametrize(
    ("days", "kept"),
    [
        (30, [0, 2]),
        (1, [0]),
        (0, AGES),  # documented: 0 keeps forever
        (-1, AGES),  # used to set the cut-off a day in the future: every record deleted
        (-(10**6), AGES),
        (10**12, AGES[:-1]),  # used to overflow: the sweep failed every time
        (MAX_RETENTION_DAYS + 1, AGES[:-1]),
    ],
)
async def test_the_default_retention_is_clamped(store, days, kept):
    ids = await seed(store, "org-default")
    governance = Governance(
        GovernanceRepository(store.database), GovernanceSettings(retention_days=days)
    )
    await governance.enforce_retention(now=NOW)
    assert await kept_ages(store, "org-default", ids) == kept


@pytest.mark.parametrize(
    ("days", "kept"),
    [(30, [0, 2]), (-5, AGES), (0, AGES), (2**31 - 1, AGES[:-1])],
)
async def test_a_stored_per_org_retention_is_clamped_and_other_orgs_still_swept(store, days, kept):
    """The API refuses such values now; rows written before it did may hold them."""
    odd = await seed(store, "org-odd")
    other = await seed(store, "org-other")
    repo = GovernanceRepository(store.database)
    odd_org = await store.get_org("org-odd")
    assert odd_org is not None
    await repo.set_retention(odd_org.id, days)
    governance = Governance(repo, GovernanceSettings(retention_days=30))
    await governance.enforce_retention(now=NOW)
    assert await kept_ages(store, "org-odd", odd) == kept
    assert await kept_ages(store, "org-other", other) == [0, 2]


@pytest.mark.parametrize(("days", "kept"), [(-1, "forever"), (10**12, "36500 days")])
def test_an_out_of_range_default_is_named_in_a_warning(caplog, days, kept):
    with caplog.at_level("WARNING", logger="relayscope.governance"):
        Governance(GovernanceRepository(None), GovernanceSettings(retention_days=days))  # type: ignore[arg-type]
    assert f"RELAYSCOPE_GOVERNANCE_RETENTION_DAYS={days} is out of range" in caplog.text
    assert f"kept {kept}" in caplog.text
