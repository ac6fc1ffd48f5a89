"""Two replicas on Postgres and Redis, 200 concurrent requests against a small budget:
the budget is exceeded by at most the cost of the requests already in flight when it
was crossed, and the shared counter holds exactly what the admitted requests cost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis

from relayscope.budgets.periods import window
from relayscope.testing.orgs import create_org
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a costly question"}]}
REQUESTS = 200
BUDGET_IN_REQUESTS = 19.5
"""Not a whole number of requests, so that the crossing is not a tie in floating point."""


async def burst(urls: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"{urls[n % len(urls)]}/openai/v1/chat/completions", headers=headers, json=CHAT
                )
                for n in range(REQUESTS)
            )
        )


def stored(url: str, headers: dict[str, str], count: int) -> list[dict]:
    def fetch() -> list[dict] | None:
        answer = httpx.get(f"{url}/api/requests", params={"limit": 1000}, headers=headers)
        rows = answer.json()["data"]
        return rows if len(rows) >= count else None

    return wait_until(fetch, timeout=30)


def test_200_concurrent_requests_on_2_replicas_overshoot_by_at_most_the_in_flight_cost(
    replicas, fake
):
    # Each request reads the budgets from the store: the replica whose API did not
    # create the budget would otherwise learn of it only after RELAYSCOPE_BUDGETS_BOOK_TTL.
    group = replicas(count=2, env={"RELAYSCOPE_BUDGETS_BOOK_TTL": "0"})
    probe_org = create_org(group.store_url)
    probe = httpx.post(
        f"{group.urls[0]}/openai/v1/chat/completions", headers=probe_org.auth, json=CHAT
    )
    cost = stored(group.urls[0], probe_org.bearer, 1)[0]["cost_usd"]
    assert probe.status_code == 200 and cost > 0

    org = create_org(group.store_url)
    limit = cost * BUDGET_IN_REQUESTS
    created = httpx.post(
        f"{group.urls[0]}/api/budgets",
        headers=org.bearer,
        json={"level": "org", "usd_limit": limit, "period": "day"},
    )
    assert created.status_code == 201
    budget = created.json()["data"]
    responses = asyncio.run(burst(group.urls, org.auth))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 429}
    refused = [r for r in responses if r.status_code == 429]
    assert refused and all(r.json()["error"]["code"] == "budget_exceeded" for r in refused)

    records = [r for r in stored(group.urls[1], org.bearer, REQUESTS)]
    assert len(records) == REQUESTS
    admitted = [r for r in records if r["status"] == 200]
    assert len(admitted) == codes.count(200)
    total = sum(r["cost_usd"] for r in admitted)

    # When the budget was crossed: charges land as requests end, so in the order of
    # their ends the running total reaches the limit no earlier than the counter did.
    def start(r: dict) -> datetime:
        return datetime.fromisoformat(r["created_at"])

    def end(r: dict) -> datetime:
        return start(r) + timedelta(milliseconds=r["latency_ms"])

    running, crossed = 0.0, None
    for record in sorted(admitted, key=end):
        running += record["cost_usd"]
        if running >= limit:
            crossed = end(record)
            break
    assert crossed is not None, "the burst spent the budget"
    late = [r for r in admitted if start(r) > crossed]
    assert not late, f"{len(late)} requests were admitted after the budget was spent"
    in_flight = sum(r["cost_usd"] for r in admitted if start(r) <= crossed <= end(r))
    assert total <= limit + in_flight + 1e-12
    assert total > limit  # the test did reach the bound's territory

    # The counter both replicas shared holds what the admitted requests cost, exactly.
    period = window("day", "calendar", datetime.now(UTC), datetime.now(UTC))
    key = (
        f"{group.redis_prefix}budget:{{{org.org_id}}}:{budget['id']}:"
        f"{int(period.start.timestamp())}"
    )
    with redis.Redis.from_url(group.redis_url) as client:
        assert float(client.hget(key, "usd")) == pytest.approx(total, rel=1e-9)
    served = {r.headers.get("helicone-id") for r in responses if r.status_code == 200}
    assert len(served) == codes.count(200)
    print(
        f"\nbudget ${limit:.6f} ({BUDGET_IN_REQUESTS} requests), admitted {len(admitted)}, "
        f"refused {len(refused)}, spent ${total:.6f}, in flight at the crossing "
        f"${in_flight:.6f}, overshoot ${total - limit:.6f}"
    )
