"""Every route kind is charged what its log record says it cost, with the real SDKs
against the fake provider: chat, Responses, embeddings, Anthropic messages, streams
(charged when they end), cache hits (nothing) and fallbacks (the provider used)."""

from __future__ import annotations

import anthropic
import pytest

from relayscope.logs.cost import cost_usd
from relayscope.testing.fake_provider import Behaviour

from .conftest import counted, create_budget, openai_client

ROOMY = {"level": "org", "usd_limit": 100.0, "token_limit": 10_000_000, "period": "day"}
ASK = [{"role": "user", "content": "How are budgets charged?"}]


@pytest.fixture
def budget(budget_gateway, owner):
    return create_budget(budget_gateway, owner, **ROOMY)


def charged_as_logged(gateway, org, budget, request_ids):
    records = [gateway.record(org, request_id) for request_id in request_ids]
    spend = counted(gateway, budget["id"])
    assert spend.usd == pytest.approx(sum(r["cost_usd"] or 0.0 for r in records), rel=1e-9)
    assert spend.tokens == sum(0 if r["cache_hit"] else r["total_tokens"] or 0 for r in records)
    return records, spend


def test_a_chat_completion_is_charged_its_cost_and_tokens(budget_gateway, owner, budget, fake):
    with openai_client(budget_gateway, owner) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=ASK)
    _, spend = charged_as_logged(budget_gateway, owner, budget, [raw.headers["helicone-id"]])
    assert spend.usd > 0 and spend.tokens == raw.parse().usage.total_tokens


def test_a_stream_is_charged_when_it_ends(budget_gateway, owner, budget, fake):
    with openai_client(budget_gateway, owner) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=ASK,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(raw.parse())
    usage = chunks[-1].usage
    (record,), spend = charged_as_logged(
        budget_gateway, owner, budget, [raw.headers["helicone-id"]]
    )
    assert record["stream"] and spend.tokens == usage.total_tokens and spend.usd > 0


def test_responses_and_embeddings_are_charged(budget_gateway, owner, budget, fake):
    with openai_client(budget_gateway, owner) as client:
        answer = client.responses.with_raw_response.create(model="gpt-4o-mini", input="Hello")
        vectors = client.embeddings.with_raw_response.create(
            model="text-embedding-3-small", input="what a budget holds"
        )
    ids = [answer.headers["helicone-id"], vectors.headers["helicone-id"]]
    records, spend = charged_as_logged(budget_gateway, owner, budget, ids)
    assert all(r["cost_usd"] and r["cost_usd"] > 0 for r in records)
    assert spend.tokens == answer.parse().usage.total_tokens + vectors.parse().usage.total_tokens


def test_anthropic_messages_are_charged(budget_gateway, owner, budget, fake):
    with anthropic.Anthropic(
        base_url=f"{budget_gateway.url}/anthropic",
        api_key="sk-ant-provider",
        default_headers=owner.auth,
        http_client=budget_gateway.sdk_http(),
        max_retries=0,
    ) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-3-5-haiku-latest", max_tokens=64, messages=ASK
        )
    usage = raw.parse().usage
    (record,), spend = charged_as_logged(
        budget_gateway, owner, budget, [raw.headers["helicone-id"]]
    )
    assert record["provider"] == "anthropic" and spend.usd > 0
    assert spend.tokens == usage.input_tokens + usage.output_tokens


def test_a_cache_hit_costs_nothing(budget_gateway, owner, budget, fake):
    with openai_client(budget_gateway, owner, **{"Helicone-Cache-Enabled": "true"}) as client:
        first = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=ASK)
        again = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=ASK)
    assert again.headers["helicone-cache"] == "HIT"
    (paid, hit), spend = charged_as_logged(
        budget_gateway, owner, budget, [first.headers["helicone-id"], again.headers["helicone-id"]]
    )
    assert hit["cache_hit"] and spend.usd == pytest.approx(paid["cost_usd"], rel=1e-9)
    assert spend.tokens == paid["total_tokens"]


def test_a_fallback_is_charged_at_the_price_of_the_provider_that_answered(
    budget_gateway, owner, budget, fake
):
    fake.enqueue(Behaviour(status=500))
    fallback = (
        '[{"provider": "anthropic", "model": "claude-3-5-haiku-latest", "api_key": "sk-ant"}]'
    )
    with openai_client(budget_gateway, owner, **{"Helicone-Fallback": fallback}) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=ASK)
    (record,), spend = charged_as_logged(
        budget_gateway, owner, budget, [raw.headers["helicone-id"]]
    )
    assert record["provider"] == "anthropic" and record["fallback_index"] == 1
    as_if_openai = cost_usd(
        "openai",
        "gpt-4o",
        input_tokens=record["prompt_tokens"],
        output_tokens=record["completion_tokens"],
    )
    assert spend.usd > 0 and spend.usd != pytest.approx(as_if_openai)
