"""The stage alone, on an injected clock: periods roll over, the refusal names the level
and the reset, and nothing over budget reaches the next stage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from relayscope.budgets.book import BudgetBook, snapshot
from relayscope.budgets.counters import CountersUnavailable, MemoryCounters
from relayscope.budgets.model import Budget, Spend
from relayscope.budgets.stage import BudgetStage
from relayscope.context import Price, ProxyResponse, Tags
from relayscope.errors import BudgetExceeded, ServiceUnavailable
from relayscope.testing.contexts import chat_context

ANSWER = orjson.dumps(
    {
        "id": "c",
        "object": "chat.completion",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }
)


class NoLog:
    """The log store holds nothing yet (a budget's first reconcile finds no spend)."""

    async def logged_spend(self, *_args: object) -> Spend:
        return Spend()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def budget(**fields: object) -> Budget:
    values: dict[str, object] = {
        "id": "b1",
        "org_id": "org",
        "level": "org",
        "target": None,
        "usd_limit": 1.0,
        "token_limit": None,
        "period": "day",
        "reset": "calendar",
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(fields)
    return Budget(**values)  # type: ignore[arg-type]


def make_stage(
    clock: Clock,
    *budgets: Budget,
    key_teams: dict[str, str] | None = None,
    counters: MemoryCounters | None = None,
    fail_closed: bool = False,
):
    async def load():
        return snapshot(list(budgets), key_teams or {})

    return BudgetStage(
        book=BudgetBook(load, ttl=60),
        counters=counters or MemoryCounters(),
        repository=NoLog(),  # type: ignore[arg-type]
        clock=clock,
        fail_closed=fail_closed,
    )


class Upstream:
    """The next stage: answers ``ANSWER`` priced at ``usd``, and counts its calls."""

    def __init__(self, usd: float) -> None:
        self.usd = usd
        self.calls = 0

    async def __call__(self, ctx):
        self.calls += 1
        ctx.upstream_body.replace(ANSWER)
        ctx.price = Price(self.usd)
        return ProxyResponse(200, [], body=ANSWER)


async def send(stage: BudgetStage, upstream: Upstream, **fields: object) -> ProxyResponse:
    ctx = chat_context(**fields)
    response = await stage(ctx, upstream)
    ctx.status = response.status
    await ctx.end_stream()
    return response


def test_a_spent_day_refuses_until_midnight_utc_then_a_new_day_starts_from_zero():
    clock = Clock(datetime(2026, 3, 31, 23, 0, tzinfo=UTC))
    stage = make_stage(clock, budget(usd_limit=1.0))
    upstream = Upstream(usd=0.6)

    async def scenario():
        await send(stage, upstream)
        await send(stage, upstream)  # 0.6 spent < 1.0: admitted, and it crosses the limit
        with pytest.raises(BudgetExceeded) as refused:
            await send(stage, upstream)
        clock.now = datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC)
        await send(stage, upstream)
        return refused.value

    refused = asyncio.run(scenario())
    assert upstream.calls == 3
    assert refused.status == 429 and refused.code == "budget_exceeded"
    assert refused.headers["Retry-After"] == "3600"
    assert refused.headers["Relayscope-Budget-Reset"] == "2026-04-01T00:00:00Z"
    assert "at the org level" in refused.message and "$1.20 of its $1.00" in refused.message
    assert "resets at 2026-04-01T00:00:00Z" in refused.message


def test_a_rolling_week_resets_seven_days_after_the_budget_was_created():
    created = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
    clock = Clock(created + timedelta(days=6, hours=23))
    stage = make_stage(clock, budget(period="week", reset="rolling", created_at=created))
    upstream = Upstream(usd=1.5)

    async def scenario():
        await send(stage, upstream)
        with pytest.raises(BudgetExceeded) as refused:
            await send(stage, upstream)
        clock.now = created + timedelta(days=7)
        await send(stage, upstream)
        return refused.value

    refused = asyncio.run(scenario())
    assert refused.headers["Retry-After"] == "3600" and upstream.calls == 2


def test_a_token_budget_counts_the_usage_tokens():
    clock = Clock(datetime(2026, 5, 5, tzinfo=UTC))
    stage = make_stage(clock, budget(usd_limit=None, token_limit=25))
    upstream = Upstream(usd=0.0)

    async def scenario():
        for _ in range(3):  # 0, 10, 20 tokens spent before each: all admitted
            await send(stage, upstream)
        with pytest.raises(BudgetExceeded) as refused:
            await send(stage, upstream)
        return refused.value

    assert "30 of its 25 tokens" in asyncio.run(scenario()).message
    assert upstream.calls == 3


def test_each_level_applies_only_to_its_own_requests():
    clock = Clock(datetime(2026, 5, 5, tzinfo=UTC))
    stage = make_stage(
        clock,
        budget(id="team", level="team", target="t1", usd_limit=0.5),
        budget(id="user", level="user", target="alice", usd_limit=0.5),
        budget(id="key", level="key", target="k3", usd_limit=0.5),
        key_teams={"k1": "t1"},
    )
    upstream = Upstream(usd=1.0)

    async def refused(**fields: object) -> bool:
        try:
            await send(stage, upstream, **fields)
        except BudgetExceeded as exc:
            return exc.message.startswith("Budget exceeded at the ")
        return False

    async def scenario():
        await send(stage, upstream, key_id="k1")  # spends the team's
        await send(stage, upstream, key_id="k2", tags=Tags(user_id="alice"))  # alice's
        await send(stage, upstream, key_id="k3")  # the key's
        return [
            await refused(key_id="k1"),
            await refused(key_id="k2"),
            await refused(key_id="k2", tags=Tags(user_id="alice")),
            await refused(key_id="k2", tags=Tags(user_id="bob")),
            await refused(key_id="k3"),
        ]

    assert asyncio.run(scenario()) == [True, False, True, False, True]


class Unreachable(MemoryCounters):
    """Counters whose Redis cannot be reached."""

    async def read(self, counters):
        raise CountersUnavailable("Redis timed out")

    async def charge(self, counters, spend):
        raise CountersUnavailable("Redis timed out")


@pytest.mark.parametrize("fail_closed", [False, True])
def test_unreadable_counters_serve_unchecked_or_refuse_with_503(fail_closed):
    clock = Clock(datetime(2026, 5, 5, tzinfo=UTC))
    stage = make_stage(clock, budget(), counters=Unreachable(), fail_closed=fail_closed)
    upstream = Upstream(usd=5.0)

    async def scenario():
        return await send(stage, upstream)

    if fail_closed:
        with pytest.raises(ServiceUnavailable) as refused:
            asyncio.run(scenario())
        assert refused.value.code == "budget_unavailable" and upstream.calls == 0
    else:
        assert asyncio.run(scenario()).status == 200 and upstream.calls == 1
        assert stage.stats.backend_errors == 2  # the read and the charge
