"""Analytics answered from the rollups equal the same question asked of the request
log, on seeded traffic, in both SQL engines: a model filter (which matches the
requested or the answered model) alone or with one more filter, any grouping under it,
the prompt version as a group or a filter, and whole days from the daily rollups."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from relayscope.analytics.repository import Analytics, Key, Span, rollup_target
from relayscope.record import LogRecord
from relayscope.store.base import RequestFilter
from relayscope.store.rollup import Totals
from relayscope.store.schema import daily_rollups, model_rollups, request_rollups
from relayscope.store.sql import SqlStore
from relayscope.testing.seed import records

END = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
SINCE = END - timedelta(hours=130, minutes=17)
UNTIL = END - timedelta(minutes=9)
DATED = "gpt-4o-2024-08-06"
"""The model some answers name: a filter on it finds requests that asked for gpt-4o."""


def traffic(org_id: str) -> list[LogRecord]:
    out = []
    for i, record in enumerate(records(org_id, 3000, days=6, end=END, seed=11, users=40)):
        changes: dict[str, Any] = {}
        if record.request_model == "gpt-4o" and record.status == 200 and i % 3 == 0:
            changes["response_model"] = DATED
        if i % 5 == 0:
            changes["prompt_id"] = f"prompt-{i % 3}"
            changes["prompt_version"] = i % 2 + 1
        elif i % 97 == 0:
            changes["prompt_id"] = "unversioned"
        out.append(dataclasses.replace(record, **changes))
    return out


CASES = [
    (RequestFilter(model=DATED), None, "hour"),
    (RequestFilter(model="gpt-4o"), "provider", None),
    (RequestFilter(model="gpt-4o-mini"), "model", "day"),
    (RequestFilter(model="gpt-4o"), "model", "hour"),
    (RequestFilter(model="gpt-4o", provider="openai"), None, "hour"),
    (RequestFilter(model="claude-3-5-haiku-latest", properties=(("feature", "chat"),)), None, None),
    (RequestFilter(model="gpt-4o"), "property:feature", "day"),
    (RequestFilter(model="gpt-4o-mini"), "prompt", "hour"),
    (RequestFilter(), "prompt", "hour"),
    (RequestFilter(prompt_id="prompt-1", prompt_version=2), None, "hour"),
    (RequestFilter(model="gpt-4o", prompt_id="prompt-2", prompt_version=1), None, None),
    (RequestFilter(model="no-such-model"), "provider", "hour"),
    (RequestFilter(), "user", None),
    (RequestFilter(user_id="user-0003"), None, "day"),
    (RequestFilter(), "property:feature", "day"),
]


def assert_same(found: dict[Key, Totals], expected: dict[Key, Totals], case: Any) -> None:
    """Counts and times exactly; sums of floats to the precision their order allows."""
    assert found.keys() == expected.keys(), case
    for key, totals in found.items():
        for name, value in dataclasses.asdict(totals).items():
            want = dataclasses.asdict(expected[key])[name]
            if isinstance(value, float):
                assert value == pytest.approx(want, rel=1e-9, abs=1e-12), (case, key, name)
            else:
                assert value == want, (case, key, name)


@pytest.fixture
async def seeded(store_url: str) -> Any:
    store = SqlStore(store_url)
    await store.migrate()
    org = await store.ensure_org("a")
    made = traffic(org.id)
    for start in range(0, len(made), 400):  # batches that cut hours, as the writer's do
        await store.insert_requests(made[start : start + 400])
    try:
        yield store, org.id
    finally:
        await store.close()


async def test_rollup_answers_equal_the_request_logs(seeded: Any) -> None:
    store, org_id = seeded
    analytics = Analytics(store.database)
    for case in CASES:
        f, group_by, granularity = dataclasses.replace(case[0], since=SINCE, until=UNTIL), *case[1:]
        assert rollup_target(f) is not None, case
        found = await analytics.aggregate(org_id, f, group_by=group_by, granularity=granularity)
        async with store.database.connect() as conn:
            raw = await analytics._raw(conn, org_id, f, Span(SINCE, UNTIL), group_by, granularity)
        assert_same(found, dict(raw), case)
    # all time, as the users page asks: whole days from daily_rollups
    found = await analytics.aggregate(org_id, RequestFilter(), group_by="user")
    async with store.database.connect() as conn:
        raw = await analytics._raw(conn, org_id, RequestFilter(), Span(None, None), "user", None)
    assert len(found) == 40
    assert_same(found, dict(raw), "all time by user")


async def test_a_model_with_a_user_is_read_from_the_log() -> None:
    """Users are left out of the per-model rollups (a batch can hold as many users as
    requests): the user's own index serves a model filter with a user."""
    assert rollup_target(RequestFilter(model="gpt-4o", user_id="user-0007")) is None
    target = rollup_target(RequestFilter(model="gpt-4o"))
    assert target is not None
    assert not target.groups("user")
    assert target.groups("prompt")


async def test_model_filters_prompt_groups_and_days_are_read_from_the_rollups(
    seeded: Any,
) -> None:
    """Over whole hours, without their rollups these answers are empty: they were read
    from the rollups, not from the log."""
    store, org_id = seeded
    analytics = Analytics(store.database)
    hour = END.replace(minute=0)
    hours = RequestFilter(since=hour - timedelta(days=5), until=hour)
    by_model = dataclasses.replace(hours, model="gpt-4o")
    before = await analytics.aggregate(org_id, by_model, group_by="property:feature")
    prompts = await analytics.aggregate(org_id, hours, group_by="prompt")
    assert sum(t.requests for t in before.values()) > 300
    assert {group for _bucket, group in prompts} == {
        f"prompt-{i} v{v}" for i in range(3) for v in (1, 2)
    }
    async with store.database.begin() as conn:
        await conn.execute(delete(model_rollups))
        await conn.execute(delete(request_rollups).where(request_rollups.c.dim == "prompt"))
        await conn.execute(delete(daily_rollups))
    assert await analytics.aggregate(org_id, by_model, group_by="property:feature") == {}
    assert await analytics.aggregate(org_id, hours, group_by="prompt") == {}
    # days the hourly rollups still hold: read from the daily ones, now empty
    assert await analytics.aggregate(org_id, RequestFilter(), group_by="user") == {}
