"""The Redis backend: the Lua script on the real Redis, then two gateway replicas sharing it."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import openai
import pytest
import redis
from redis.asyncio import Redis

from relayscope.ratelimit.limiter import BackendUnavailable, Check
from relayscope.ratelimit.redis_limiter import RedisLimiter
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, free_port
from relayscope.testing.waiting import async_wait_until, wait_until

from .conftest import CHAT, REDIS_URL, delete_keys, gateway_env


@pytest.fixture
async def clients():
    """Two separate connection pools, as two replicas would have."""
    first, second = Redis.from_url(REDIS_URL), Redis.from_url(REDIS_URL)
    yield first, second
    await first.aclose()
    await second.aclose()


async def test_concurrent_decisions_from_two_clients_hold_the_quota_exactly(clients, redis_prefix):
    # A generous timeout: 60 connections are opened at once on a busy test machine.
    limiters = [RedisLimiter(client, redis_prefix, timeout=10) for client in clients]
    check = Check("org-wide", 20, 60, 1)
    outcomes = await asyncio.gather(*(limiters[i % 2].decide("org", [check]) for i in range(60)))
    allowed = [o[0] for o in outcomes if o[0].allowed]
    assert len(allowed) == 20
    assert sorted(o.used for o in allowed) == list(range(1, 21))
    refused = [o[0] for o in outcomes if not o[0].allowed]
    assert all(59 < o.reset <= 60 for o in refused)


async def test_several_counters_are_decided_together(clients, redis_prefix):
    limiter = RedisLimiter(clients[0], redis_prefix)
    loose, tight = Check("loose", 100, 60, 1), Check("tight", 1, 60, 1)
    assert all(o.allowed for o in await limiter.decide("org", [loose, tight]))
    refused = await limiter.decide("org", [loose, tight])
    assert [o.allowed for o in refused] == [True, False]
    assert refused[0].used == 1, "nothing was taken from the loose counter"


async def test_cents_charges_and_expiry(clients, redis_prefix):
    client = clients[0]
    limiter = RedisLimiter(client, redis_prefix)
    cents = Check("spend", 1.0, 1, 0)
    assert (await limiter.decide("org", [cents]))[0].allowed
    await limiter.spend("org", [cents], 0.4)
    await limiter.spend("org", [cents], 0.6)
    refused = (await limiter.decide("org", [cents]))[0]
    assert not refused.allowed and refused.used == pytest.approx(1.0)
    assert 0 < refused.reset <= 1
    stem = limiter.key("org", cents)
    assert 0 < await client.pttl(f"{stem}:log") <= 1001
    started = time.monotonic()
    while not (await limiter.decide("org", [cents]))[0].allowed:
        assert time.monotonic() - started < refused.reset + 0.5
        await asyncio.sleep(0.02)
    assert time.monotonic() - started >= refused.reset - 0.05

    async def gone() -> bool:
        return await client.exists(f"{stem}:log", f"{stem}:sum") == 0

    await async_wait_until(gone, timeout=3)  # keys expire a window after their last use


async def test_unreachable_redis_fails_fast_then_is_skipped_for_a_while():
    """Skipped means not contacted: counted by connections, not by a wall-clock bound
    (a "< 10 ms" bound here flaked on a shared 2-core machine; the cost of a skipped
    decision is a benchmark figure, not a test's)."""
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()  # a Redis that accepts and drops every connection

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Redis.from_url(f"redis://127.0.0.1:{port}", retry=None)
    limiter = RedisLimiter(client, "test:", retry_interval=30)
    try:
        with pytest.raises(BackendUnavailable, match="Redis"):
            await limiter.decide("org", [Check("c", 1, 60, 1)])
        tried = connections
        assert tried >= 1
        for _ in range(5):
            with pytest.raises(BackendUnavailable, match="retry interval"):
                await limiter.decide("org", [Check("c", 1, 60, 1)])
        assert connections == tried, "Redis was contacted within the retry interval"
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


# --- two real gateway processes sharing one store and one Redis -------------


@pytest.fixture(scope="module")
def replicas(e2e_process, tmp_path_factory, fake_server):
    tmp_path = tmp_path_factory.mktemp("replicas")
    prefix = f"test-{uuid.uuid4().hex}:"
    env = gateway_env(
        fake_server.url,
        RELAYSCOPE_DATABASE_URL=f"sqlite:///{tmp_path / 'shared.db'}",
        RELAYSCOPE_REDIS_URL=REDIS_URL,
        RELAYSCOPE_REDIS_PREFIX=prefix,
    )
    try:
        # One after the other: the first applies the migrations to the shared store.
        with GatewayProcess(tmp_path / "a", env) as a, GatewayProcess(tmp_path / "b", env) as b:
            yield a, b, prefix
    finally:
        delete_keys(prefix)


async def burst(urls: list[str], headers: dict[str, str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=10) as client:
        return await asyncio.gather(*(client.post(url, headers=headers, json=CHAT) for url in urls))


def test_two_replicas_sharing_redis_hold_the_quota_exactly(replicas, fake):
    a, b, prefix = replicas
    org = create_org(a.database_url)
    headers = {**org.auth, "Helicone-RateLimit-Policy": "10;w=60"}
    urls = [f"{(a, b)[i % 2].url}/openai/v1/chat/completions" for i in range(26)]
    responses = asyncio.run(burst(urls, headers))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 10 and statuses.count(429) == 16
    assert fake.calls == 10
    # Both replicas refused some: the count really was shared.
    assert {r.url.port for r in responses if r.status_code == 429} == {a.port, b.port}
    remaining = sorted(
        int(r.headers["helicone-ratelimit-remaining"]) for r in responses if r.status_code == 200
    )
    assert remaining == list(range(10))
    with redis.Redis.from_url(REDIS_URL) as sync:
        keys = list(sync.scan_iter(match=f"{prefix}ratelimit:{{{org.org_id}}}:*"))
    assert len(keys) == 2, "one counter (its log and its total) under the configured prefix"


def test_openai_sdk_clients_of_two_replicas_share_one_quota(replicas, fake):
    a, b, _prefix = replicas
    org = create_org(a.database_url)
    clients = [
        openai.OpenAI(
            base_url=f"{gateway.url}/openai/v1",
            api_key="sk-provider",
            default_headers={**org.auth, "Helicone-RateLimit-Policy": "3;w=60"},
            max_retries=0,
        )
        for gateway in (a, b)
    ]
    outcomes = []
    try:
        for i in range(6):
            try:
                clients[i % 2].chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
                outcomes.append("ok")
            except openai.RateLimitError:
                outcomes.append("limited")
    finally:
        for client in clients:
            client.close()
    assert outcomes == ["ok", "ok", "ok", "limited", "limited", "limited"]
    assert fake.calls == 3


def test_standing_policies_are_shared_by_replicas(replicas, fake):
    a, b, _prefix = replicas
    org = create_org(a.database_url)
    with httpx.Client(base_url=a.url, headers=org.bearer) as api:
        assert api.post("/api/rate-limits", json={"policy": "6;w=60"}).status_code == 201
    limited = []  # responses under the policy, from either replica

    def through(gateway: GatewayProcess) -> httpx.Response:
        response = httpx.post(
            f"{gateway.url}/openai/v1/chat/completions", headers=org.auth, json=CHAT
        )
        if "helicone-ratelimit-policy" in response.headers:
            limited.append(response)
        return response

    # Each replica picks the policy up within its refresh interval.
    wait_until(lambda: "helicone-ratelimit-policy" in through(a).headers)
    wait_until(lambda: "helicone-ratelimit-policy" in through(b).headers)
    for _ in range(8):
        through(a)
        through(b)
    assert [r.status_code for r in limited].count(200) == 6
    assert limited[-2].status_code == limited[-1].status_code == 429
    assert {r.url.port for r in limited if r.status_code == 200} == {a.port, b.port}
    assert limited[-1].headers["helicone-ratelimit-policy"] == "6;w=60;u=request"


# --- Redis unreachable ------------------------------------------------------


def test_unreachable_redis_fails_open_by_default(tmp_path, fake_server, fake, caplog):
    env = gateway_env(fake_server.url, RELAYSCOPE_REDIS_URL=f"redis://127.0.0.1:{free_port()}")
    with AsgiGateway(tmp_path, env) as gateway, gateway.http() as client:
        org = gateway.new_org()
        headers = {**org.auth, "Helicone-RateLimit-Policy": "1;w=60"}
        url = "/openai/v1/chat/completions"
        responses = [client.post(url, headers=headers, json=CHAT) for _ in range(3)]
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert fake.calls == 3
        assert all("helicone-ratelimit-limit" not in r.headers for r in responses)
        assert "rate limiting cannot reach Redis" in caplog.text


def test_unreachable_redis_refuses_with_503_when_fail_closed(tmp_path, fake_server, fake):
    port = free_port()
    env = gateway_env(
        fake_server.url,
        RELAYSCOPE_REDIS_URL=f"redis://127.0.0.1:{port}",
        RELAYSCOPE_RATELIMIT_FAIL_CLOSED="true",
    )
    with AsgiGateway(tmp_path, env) as gateway, gateway.http() as client:
        org = gateway.new_org()
        url = "/openai/v1/chat/completions"
        refused = client.post(
            url, headers={**org.auth, "Helicone-RateLimit-Policy": "100;w=60"}, json=CHAT
        )
        assert refused.status_code == 503
        error = refused.json()["error"]
        assert error["code"] == "rate_limit_unavailable"
        assert "Rate limiting is unavailable" in error["message"] and "Redis" in error["message"]
        assert str(port) not in error["message"], "where Redis runs is for the log only"
        assert fake.calls == 0
        # Requests under no policy do not need Redis.
        assert client.post(url, headers=org.auth, json=CHAT).status_code == 200
        record = gateway.record(org, refused.headers["helicone-id"])
        assert record["status"] == 503 and "Rate limiting is unavailable" in record["error"]
