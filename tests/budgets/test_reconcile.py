"""Counters converge to the log store's truth: a Redis counter that was lost is raised
back by the periodic reconcile, and a restarted one-process gateway starts from what
the store holds."""

from __future__ import annotations

import uuid

import openai
import pytest
import redis

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until

from .conftest import counted, create_budget, openai_client

REDIS_URL = "redis://127.0.0.1:6379/0"
ASK = [{"role": "user", "content": "Remember what I spent"}]


def ask(client: openai.OpenAI):
    return client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=ASK)


@pytest.fixture
def prefix():
    value = f"test-{uuid.uuid4().hex}:"
    yield value
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{value}*"))
        if keys:
            client.delete(*keys)


def test_a_lost_redis_counter_is_raised_back_to_the_stores_sum(
    tmp_path, store_url, fake_server, fake, prefix
):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_url,
        "RELAYSCOPE_REDIS_URL": REDIS_URL,
        "RELAYSCOPE_REDIS_PREFIX": prefix,
        "RELAYSCOPE_BUDGETS_RECONCILE_INTERVAL": "0.2",
    }
    with AsgiGateway(tmp_path, env) as gateway:
        org = gateway.new_org()
        budget = create_budget(gateway, org, level="org", usd_limit=1.0, period="month")
        with openai_client(gateway, org) as client:
            ids = [ask(client).headers["helicone-id"] for _ in range(3)]
        truth = sum(gateway.record(org, request_id)["cost_usd"] for request_id in ids)
        assert counted(gateway, budget["id"]).usd == pytest.approx(truth, rel=1e-9)
        with redis.Redis.from_url(REDIS_URL) as client:
            lost = list(client.scan_iter(match=f"{prefix}budget:*"))
            assert lost and client.delete(*lost) == len(lost)
        back = wait_until(
            lambda: counted(gateway, budget["id"]) if counted(gateway, budget["id"]).usd else None
        )
        assert back.usd == pytest.approx(truth, rel=1e-9)
        assert back.tokens == sum(gateway.record(org, i)["total_tokens"] for i in ids)


def test_a_restarted_gateway_starts_from_what_the_store_holds(
    tmp_path, store_url, fake_server, fake
):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": store_url}
    with AsgiGateway(tmp_path / "first", env) as gateway:
        org = gateway.new_org()
        create_budget(gateway, org, level="org", usd_limit=0.000001)
        with openai_client(gateway, org) as client:
            ask(client)
            with pytest.raises(openai.RateLimitError):
                ask(client)
    with (
        AsgiGateway(tmp_path / "second", env) as gateway,
        openai_client(gateway, org) as client,
        pytest.raises(openai.RateLimitError) as refused,
    ):
        ask(client)
    assert refused.value.response.json()["error"]["code"] == "budget_exceeded"
    assert fake.calls == 1
