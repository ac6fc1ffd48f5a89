"""Two replicas on Postgres and Redis, 200 concurrent clients against a small budget:
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
CLIENTS = 200
"""Concurrent clients; each sends two requests, the second once the first has ended."""
BUDGET_IN_REQUESTS = 19.5
"""Not a whole number of requests, so that the crossing is not a tie in floating point."""
BURST = {"Helicone-User-Id": "burst"}


async def burst(urls: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    # A new connection per request, as independent clients would open.
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def two(n: int) -> list[httpx.Response]:
            url = f"{urls[n % len(urls)]}/openai/v1/chat/completions"
            return [await client.post(url, headers=headers, json=CHAT) for _ in range(2)]

        pairs = await asyncio.gather(*(two(n) for n in range(CLIENTS)))
    return [response for pair in pairs for response in pair]


def stored(url: str, headers: dict[str, str], count: int, **params: str) -> list[dict]:
    def fetch() -> list[dict] | None:
        answer = httpx.get(f"{url}/api/requests", params={"limit": 1000, **params}, headers=headers)
        rows = answer.json()["data"]
        return rows if len(rows) >= count else None

    return wait_until(fetch, timeout=30)


def test_200_concurrent_requests_on_2_replicas_overshoot_by_at_most_the_in_flight_cost(
    replicas, fake
):
    group = replicas(count=2)
    org = create_org(group.store_url)

    def chat(url: str, user: str) -> int:
        headers = {**org.auth, "Helicone-User-Id": user}
        return httpx.post(
            f"{url}/openai/v1/chat/completions", headers=headers, json=CHAT
        ).status_code

    assert chat(group.urls[0], "probe") == 200
    cost = stored(group.urls[0], org.bearer, 1, user_id="probe")[0]["cost_usd"]
    assert cost > 0

    def budget(**fields: object) -> dict:
        created = httpx.post(f"{group.urls[0]}/api/budgets", headers=org.bearer, json=fields)
        assert created.status_code == 201, created.text
        return created.json()["data"]

    limit = cost * BUDGET_IN_REQUESTS
    burst_budget = budget(level="user", target="burst", usd_limit=limit, period="day")
    # Made after the burst's budget, so a replica that refuses the sentinel has read both.
    budget(level="user", target="sentinel", token_limit=1, period="day")
    for url in group.urls:
        wait_until(lambda url=url: chat(url, "sentinel") == 429, timeout=15)

    responses = asyncio.run(burst(group.urls, {**org.auth, **BURST}))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 429}
    refused = [r for r in responses if r.status_code == 429]
    # A client's second request starts after its first was answered, and so charged:
    # those starting after 20 answers find the budget spent.
    assert refused, "the budget refused none of the burst"
    assert {r.json()["error"]["code"] for r in refused} == {"budget_exceeded"}, [
        r.json()["error"] for r in refused if r.json()["error"]["code"] != "budget_exceeded"
    ][:3]

    records = stored(group.urls[1], org.bearer, 2 * CLIENTS, user_id="burst")
    assert len(records) == 2 * CLIENTS
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
        f"{group.redis_prefix}budget:{{{org.org_id}}}:{burst_budget['id']}:"
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
