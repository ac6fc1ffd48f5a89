"""Helicone-RateLimit-Policy through a real gateway, with the openai/anthropic SDKs and raw HTTP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import anthropic
import httpx
import openai
import pytest
from redis.asyncio import Redis

from relayscope.context import Context, ProxyResponse, Target
from relayscope.errors import RateLimited, ServiceUnavailable
from relayscope.ratelimit.book import PolicyBook
from relayscope.ratelimit.limiter import MemoryLimiter
from relayscope.ratelimit.policy import format_number, parse_policy
from relayscope.ratelimit.redis_limiter import RedisLimiter
from relayscope.ratelimit.repository import StandingPolicy
from relayscope.ratelimit.stage import RateLimitStage
from relayscope.testing.contexts import chat_context
from relayscope.testing.process import free_port
from relayscope.testing.waiting import async_wait_until, wait_until

from .conftest import CHAT

POLICY = "Helicone-RateLimit-Policy"
RATE_HEADERS = (
    "helicone-ratelimit-limit",
    "helicone-ratelimit-remaining",
    "helicone-ratelimit-policy",
    "helicone-ratelimit-reset",
)


@pytest.fixture
def sdk(rl_gateway, rl_org):
    with openai.OpenAI(
        base_url=f"{rl_gateway.url}/openai/v1",
        api_key="sk-provider",
        default_headers=rl_org.auth,
        max_retries=0,
    ) as client:
        yield client


def ask(sdk: openai.OpenAI, **headers: str):
    return sdk.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_headers=headers
    )


async def burst(url: str, headers: dict[str, str], count: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=10) as client:
        return await asyncio.gather(
            *(client.post(url, headers=headers, json=CHAT) for _ in range(count))
        )


def test_quota_10_with_25_concurrent_requests_lets_exactly_10_through(rl_gateway, rl_org, fake):
    url = f"{rl_gateway.url}/openai/v1/chat/completions"
    responses = asyncio.run(burst(url, {**rl_org.auth, POLICY: "10;w=60"}, 25))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) == 10 and len(refused) == 15
    assert fake.calls == 10
    assert sorted(int(r.headers["helicone-ratelimit-remaining"]) for r in ok) == list(range(10))
    for response in responses:
        assert response.headers["helicone-ratelimit-limit"] == "10"
        assert response.headers["helicone-ratelimit-policy"] == "10;w=60;u=request"
        assert 0 < int(response.headers["helicone-ratelimit-reset"]) <= 60
    for response in refused:
        assert 0 < int(response.headers["retry-after"]) <= 60
        assert response.headers["retry-after"] == response.headers["helicone-ratelimit-reset"]
        assert response.headers["helicone-ratelimit-remaining"] == "0"
        error = response.json()["error"]
        assert error["type"] == "rate_limit_error" and error["code"] == "rate_limited"
        assert (
            "10;w=60;u=request" in error["message"] and "10 requests per 60 s" in error["message"]
        )


def test_openai_sdk_sees_the_headers_then_a_rate_limit_error(rl_gateway, rl_org, sdk, fake):
    first = ask(sdk, **{POLICY: "2;w=60"})
    second = ask(sdk, **{POLICY: "2;w=60"})
    assert [
        first.headers["helicone-ratelimit-remaining"],
        second.headers["helicone-ratelimit-remaining"],
    ] == ["1", "0"]
    assert first.headers["helicone-ratelimit-reset"] == "60"
    assert first.parse().choices[0].message.content
    with pytest.raises(openai.RateLimitError) as caught:
        ask(sdk, **{POLICY: "2;w=60"})
    error = caught.value
    assert error.status_code == 429
    assert error.body["type"] == "rate_limit_error"
    assert int(error.response.headers["retry-after"]) >= 59
    assert fake.calls == 2

    refused = rl_gateway.record(rl_org, error.response.headers["helicone-id"])
    assert refused["status"] == 429 and refused["rate_limited"] is True
    assert "Rate limit exceeded" in refused["error"]
    assert rl_gateway.record(rl_org, first.headers["helicone-id"])["rate_limited"] is False


def test_anthropic_sdk_gets_a_rate_limit_error(rl_gateway, rl_org, fake):
    with anthropic.Anthropic(
        base_url=f"{rl_gateway.url}/anthropic",
        api_key="sk-ant-provider",
        default_headers={**rl_org.auth, POLICY: "1;w=60;u=org"},
        max_retries=0,
    ) as client:
        message = client.messages.with_raw_response.create(
            model="claude-3-5-haiku-latest",
            max_tokens=50,
            messages=[{"role": "user", "content": "hi"}],
        )
        assert message.headers["helicone-ratelimit-policy"] == "1;w=60;u=request"
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(
                model="claude-3-5-haiku-latest",
                max_tokens=50,
                messages=[{"role": "user", "content": "hi"}],
            )
    assert caught.value.response.headers["helicone-ratelimit-remaining"] == "0"
    assert fake.calls == 1


def test_streams_are_limited_too(rl_gateway, rl_org, sdk, fake):
    raw = sdk.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_headers={POLICY: "1;w=60"},
    )
    assert raw.headers["helicone-ratelimit-remaining"] == "0"
    assert raw.headers["helicone-ratelimit-policy"] == "1;w=60;u=request"
    assert "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_headers={POLICY: "1;w=60"},
        )
    assert fake.calls == 1


@pytest.mark.parametrize(
    ("policy", "segment_header"),
    [
        ("2;w=60;s=user", "Helicone-User-Id"),
        ("2;w=60;u=user", "Helicone-User-Id"),
        ("2;w=60;s=team", "Helicone-Property-Team"),
    ],
)
def test_segments_count_each_value_apart(rl_gateway, rl_org, fake, policy, segment_header):
    def chat(value: str) -> int:
        return rl_gateway.chat(rl_org, {POLICY: policy, segment_header: value}).status_code

    assert [chat("alice"), chat("alice"), chat("alice")] == [200, 200, 429]
    assert [chat("bob"), chat("bob"), chat("bob")] == [200, 200, 429]
    assert fake.calls == 4


def test_per_user_quotas_through_the_sdk(sdk, fake):
    def as_user(user: str):
        return ask(sdk, **{POLICY: "1;w=60;u=user", "Helicone-User-Id": user})

    assert as_user("alice").headers["helicone-ratelimit-policy"] == "1;w=60;u=request;s=user"
    assert as_user("bob").headers["helicone-ratelimit-remaining"] == "0"
    with pytest.raises(openai.RateLimitError):
        as_user("alice")
    assert fake.calls == 2


@pytest.mark.parametrize("policy", ["2;w=60", "2;w=60;u=org", "2;w=60;u=request"])
def test_without_a_segment_the_whole_org_shares_the_quota(rl_gateway, rl_org, fake, policy):
    statuses = [
        rl_gateway.chat(rl_org, {POLICY: policy, "Helicone-User-Id": user}).status_code
        for user in ("a", "b", "c")
    ]
    assert statuses == [200, 200, 429]
    other_org = rl_gateway.new_org()
    assert rl_gateway.chat(other_org, {POLICY: policy}).status_code == 200, (
        "orgs never share counters"
    )


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ("ten;w=60", "quota 'ten' is not a number"),
        ("0;w=60", "quota 0 must be positive"),
        ("-1;w=60", "must be positive"),
        ("10", "missing the window"),
        ("10;w=0", "between 1 and 31536000"),
        ("10;w=40000000", "between 1 and 31536000"),
        ("10;w=60;u=tokens", "unknown unit"),
        ("10;w=60;q=1", "unknown parameter"),
        ("10;w=60;s=user", "no Helicone-User-Id header"),
        ("10;w=60;u=user", "no Helicone-User-Id header"),
        ("10;w=60;s=team", "no Helicone-Property-team header"),
    ],
)
def test_bad_policies_are_skipped_with_a_warning_naming_the_header(
    rl_gateway, rl_org, fake, policy, problem
):
    """Helicone proxies such a request without the limit; so does the gateway, and says
    why (a 400 only with RELAYSCOPE_STRICT_HEADERS, tests/test_compat_headers_e2e.py)."""
    response = rl_gateway.chat(rl_org, {POLICY: policy})
    assert response.status_code == 200
    warning = response.headers["helicone-warning"]
    assert warning.startswith("Helicone-RateLimit-Policy: ")
    assert problem in warning and warning.endswith("proxied without this policy")
    assert fake.calls == 1
    assert not any(name in response.headers for name in RATE_HEADERS)
    record = rl_gateway.record(rl_org, response.headers["helicone-id"])
    assert record["warnings"] == [warning]


def test_capacity_returns_when_retry_after_says(rl_gateway, rl_org, fake):
    headers = {POLICY: "2;w=1"}
    assert rl_gateway.chat(rl_org, headers).status_code == 200
    assert rl_gateway.chat(rl_org, headers).status_code == 200
    refused = rl_gateway.chat(rl_org, headers)
    started = time.monotonic()
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    wait_until(
        lambda: rl_gateway.chat(rl_org, headers).status_code == 200, timeout=5, interval=0.01
    )
    waited = time.monotonic() - started
    assert 0.5 < waited <= 1.5


def test_no_burst_of_twice_the_quota_at_window_edges(rl_gateway, rl_org):
    """Fifteen requests under 5 per second take at least two seconds, and no six
    admitted requests ever fit in one second, wherever the second starts."""
    headers = {**rl_org.auth, POLICY: "5;w=1"}
    url = f"{rl_gateway.url}/openai/v1/chat/completions"
    admitted = []  # (sent, answered) of each admitted request
    started = time.monotonic()
    with httpx.Client(timeout=10) as client:
        while len(admitted) < 15:
            assert time.monotonic() - started < 10
            sent = time.monotonic()
            response = client.post(url, headers=headers, json=CHAT)
            if response.status_code == 200:
                admitted.append((sent, time.monotonic()))
            else:
                assert response.status_code == 429
                time.sleep(0.02)  # pacing, not waiting for anything
    # Each decision happened between sending and answering, so this is a lower bound
    # on the time between admissions i and i+5.
    for i in range(len(admitted) - 5):
        assert admitted[i + 5][1] - admitted[i][0] >= 1.0
    assert admitted[-1][1] - started >= 2.0


def test_cents_quota_refuses_once_the_priced_spend_reaches_it(rl_gateway, rl_org, sdk, fake):
    unpriced = ask(sdk)
    cents = rl_gateway.record(rl_org, unpriced.headers["helicone-id"])["cost_usd"] * 100
    assert cents > 0
    quota = f"{cents * 2.5:.12f}"
    policy = {POLICY: f"{quota};w=60;u=cents"}
    # Nothing is reserved up front; each response's price is deducted once known.
    remaining = [
        float(ask(sdk, **policy).headers["helicone-ratelimit-remaining"]) for _ in range(3)
    ]
    assert remaining == pytest.approx([cents * 2.5, cents * 1.5, cents * 0.5], rel=1e-6)
    with pytest.raises(openai.RateLimitError) as caught:
        ask(sdk, **policy)
    assert caught.value.response.headers["helicone-ratelimit-remaining"] == "0"
    normalised = f"{format_number(float(quota))};w=60;u=cents"
    assert caught.value.response.headers["helicone-ratelimit-policy"] == normalised
    assert fake.calls == 4


def test_cache_hits_spend_nothing_against_a_cents_quota(rl_gateway, rl_org, sdk, fake):
    first = ask(sdk)
    cents = rl_gateway.record(rl_org, first.headers["helicone-id"])["cost_usd"] * 100
    policy = {POLICY: f"{cents * 1.5:.12f};w=60;u=cents", "Helicone-Cache-Enabled": "true"}
    ask(sdk, **policy)  # a miss: priced and charged
    for _ in range(3):  # hits: served from the cache at cost 0, so never refused
        hit = ask(sdk, **policy)
        assert hit.headers["helicone-cache"] == "HIT"
    assert fake.calls == 2


def test_cents_for_a_stream_are_deducted_when_it_ends(rl_gateway, rl_org, sdk, fake):
    def stream(**headers: str) -> str:
        raw = sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "a longer story please"}],
            stream=True,
            extra_headers=headers,
        )
        "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
        return raw.headers["helicone-id"]

    cents = rl_gateway.record(rl_org, stream())["cost_usd"] * 100
    policy = {POLICY: f"{cents * 1.5:.12f};w=60;u=cents"}
    stream(**policy)
    stream(**policy)
    with pytest.raises(openai.RateLimitError):
        stream(**policy)
    assert fake.calls == 3


# --- the stage in process: what a /metrics endpoint will read ----------------


def context() -> Context:
    target = Target(None, "http://upstream/v1/chat/completions", "openai", "custom")
    return chat_context({"helicone-ratelimit-policy": "1;w=60"}, b"{}", target=target)


async def no_standing_policies() -> list:
    return []


async def answer(ctx: Context) -> ProxyResponse:
    return ProxyResponse(200, [], body=b"{}")


async def test_counters_record_admissions_refusals_and_backend_failures():
    stage = RateLimitStage(limiter=MemoryLimiter(), book=PolicyBook(no_standing_policies, ttl=60))
    await stage(context(), answer)
    with pytest.raises(RateLimited, match="Rate limit exceeded"):
        await stage(context(), answer)
    assert (stage.counters.admitted, stage.counters.refused) == (1, 1)

    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}")
    try:
        for fail_closed in (False, True):
            stage = RateLimitStage(
                limiter=RedisLimiter(down, "test:", retry_interval=0),
                book=PolicyBook(no_standing_policies, ttl=60),
                fail_closed=fail_closed,
            )
            if fail_closed:
                with pytest.raises(ServiceUnavailable):
                    await stage(context(), answer)
            else:
                assert (await stage(context(), answer)).status == 200
            counters = stage.counters
            assert counters.backend_errors == 1
            assert (counters.failed_open, counters.failed_closed) == (
                (0, 1) if fail_closed else (1, 0)
            )
    finally:
        await down.aclose()


async def test_the_binding_decision_is_on_the_context_as_the_headers_tell_it():
    stage = RateLimitStage(limiter=MemoryLimiter(), book=PolicyBook(no_standing_policies, ttl=60))
    admitted = context()
    await stage(admitted, answer)
    assert admitted.ratelimit is not None and not admitted.ratelimit.limited
    assert (admitted.ratelimit.policy, admitted.ratelimit.limit) == ("1;w=60;u=request", 1)
    assert admitted.ratelimit.remaining == 0 and 0 < admitted.ratelimit.reset_s <= 60
    assert admitted.response_headers == admitted.ratelimit.headers()
    refused = context()
    with pytest.raises(RateLimited) as error:
        await stage(refused, answer)
    assert refused.ratelimit is not None and refused.ratelimit.limited
    assert error.value.headers == {"Retry-After": str(refused.ratelimit.reset_s)}
    assert dict(refused.response_headers)[b"helicone-ratelimit-remaining"] == b"0"
    unlimited = unlimited_context()
    await stage(unlimited, answer)
    assert unlimited.ratelimit is None


class PolicyStore:
    """Standing policies as the book reads them; ``down`` makes every read fail."""

    def __init__(self, policies: list[StandingPolicy]) -> None:
        self.policies = policies
        self.down = True
        self.reads = 0

    async def load(self) -> list[StandingPolicy]:
        self.reads += 1
        if self.down:
            raise OSError("store unreachable")
        return list(self.policies)


def unlimited_context() -> Context:
    """A request with no policy header: only the org's standing policy can limit it."""
    target = Target(None, "http://upstream/v1/chat/completions", "openai", "custom")
    return chat_context({}, b"{}", target=target)


@pytest.mark.parametrize("fail_closed", [True, False])
async def test_standing_policies_never_read_are_not_taken_for_no_policies(fail_closed):
    """A first read of the standing policies that failed used to leave an empty
    snapshot marked fresh: every org looked policy-free, FAIL_CLOSED or not."""
    ctx = unlimited_context()
    now = datetime.now(UTC)
    one_per_minute = StandingPolicy("p1", ctx.org_id, None, parse_policy("1;w=60"), now, now)
    store = PolicyStore([one_per_minute])
    stage = RateLimitStage(
        limiter=MemoryLimiter(), book=PolicyBook(store.load, ttl=60), fail_closed=fail_closed
    )
    for _ in range(3):
        assert stage.applies(unlimited_context())
        if fail_closed:
            with pytest.raises(ServiceUnavailable) as refused:
                await stage(unlimited_context(), answer)
            assert refused.value.status == 503 and refused.value.code == "rate_limit_unavailable"
        else:
            assert (await stage(unlimited_context(), answer)).status == 200
    assert store.reads == 1, "a failing first read is retried at most once a second"
    expected = (0, 3) if fail_closed else (3, 0)
    assert (stage.counters.failed_open, stage.counters.failed_closed) == expected

    store.down = False

    async def read_again() -> bool:  # once the retry second has passed
        try:
            await stage(unlimited_context(), answer)  # admitted: the quota's one request
        except ServiceUnavailable:
            assert fail_closed
        return store.reads == 2

    await async_wait_until(read_again, timeout=10)
    with pytest.raises(RateLimited):
        await stage(unlimited_context(), answer)
    assert store.reads == 2
