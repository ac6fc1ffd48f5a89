"""The real anthropic SDK through a real gateway process to the fake provider."""

from __future__ import annotations

import anthropic
import pytest
from genai_prices import Usage, calc_price

PROVIDER_KEY = "sk-ant-provider-secret-987"
MODEL = "claude-3-5-sonnet-20241022"


@pytest.fixture
def client(gateway, org):
    with anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        http_client=gateway.sdk_http(),
        api_key=PROVIDER_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk


def price(input_tokens: int, output_tokens: int, cache_read: int = 0) -> float:
    usage = Usage(
        input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cache_read
    )
    return float(calc_price(usage, model_ref=MODEL, provider_id="anthropic").total_price)


def test_messages_are_proxied_and_logged(gateway, org, client, fake):
    raw = client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=100,
        system="be brief",
        messages=[{"role": "user", "content": "hello claude"}],
        extra_headers={"Helicone-User-Id": "carol", "Helicone-Property-App": "docs"},
    )
    message = raw.parse()
    assert "hello claude" in message.content[0].text
    seen = fake.requests[-1]
    assert seen.path == "/v1/messages"
    sent_key = seen.headers.get("x-api-key") or seen.headers["authorization"]
    assert sent_key.removeprefix("Bearer ") == PROVIDER_KEY
    assert seen.headers["anthropic-version"]

    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["provider"] == "anthropic"
    assert record["prompt_tokens"] == message.usage.input_tokens
    assert record["completion_tokens"] == message.usage.output_tokens
    assert record["cost_usd"] == pytest.approx(
        price(message.usage.input_tokens, message.usage.output_tokens)
    )
    assert record["user_id"] == "carol"
    assert {k.lower(): v for k, v in record["properties"].items()} == {"app": "docs"}
    assert record["response_body"]["content"][0]["text"] == message.content[0].text


def test_streaming_usage_comes_from_message_start_and_delta(gateway, org, client):
    with client.messages.with_streaming_response.create(
        model=MODEL,
        max_tokens=100,
        messages=[{"role": "user", "content": "stream to me please"}],
        stream=True,
    ) as raw:
        request_id = raw.headers["helicone-id"]
        events = list(raw.parse())
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    start = next(e for e in events if e.type == "message_start")
    delta = next(e for e in events if e.type == "message_delta")
    assert "stream to me please" in text

    record = gateway.record(org, request_id)
    assert record["stream"] is True
    assert record["prompt_tokens"] == start.message.usage.input_tokens
    assert record["completion_tokens"] == delta.usage.output_tokens
    assert record["ttft_ms"] is not None
    assert record["response_body"]["content"][0]["text"] == text
    assert record["response_body"]["stop_reason"] == delta.delta.stop_reason


def test_cache_read_tokens_are_recorded_and_priced(gateway, org, client, fake):
    from relayscope.testing.fake_provider import Behaviour

    fake.enqueue(Behaviour(cached_tokens=40))
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "cached context"}]
    )
    message = raw.parse()
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["cache_read_tokens"] == 40
    assert record["prompt_tokens"] == message.usage.input_tokens + 40
    assert record["cost_usd"] == pytest.approx(
        price(message.usage.input_tokens + 40, message.usage.output_tokens, cache_read=40)
    )
