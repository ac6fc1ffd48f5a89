"""Anthropic Messages as coding agents use them: tools, extended thinking, prompt
caching, token counting, betas and message batches, through a real gateway."""

from __future__ import annotations

import uuid

import anthropic
import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.fake_provider import Behaviour

PROVIDER_KEY = "sk-ant-provider-secret-987"
MODEL = "claude-sonnet-4-20250514"
TOOL = {
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
THINKING = {"type": "enabled", "budget_tokens": 2048}


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


def price(usage: anthropic.types.Usage) -> float:
    read = usage.cache_read_input_tokens or 0
    write = usage.cache_creation_input_tokens or 0
    counted = Usage(
        input_tokens=usage.input_tokens + read + write,
        output_tokens=usage.output_tokens,
        cache_read_tokens=read or None,
        cache_write_tokens=write or None,
    )
    return float(calc_price(counted, model_ref=MODEL, provider_id="anthropic").total_price)


def test_tool_use_is_logged_with_its_input(gateway, org, client):
    raw = client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=200,
        tools=[TOOL],
        messages=[{"role": "user", "content": "what is the weather in Oslo?"}],
    )
    message = raw.parse()
    block = message.content[0]
    assert block.type == "tool_use" and message.stop_reason == "tool_use"
    record = gateway.record(org, raw.headers["helicone-id"])
    logged = record["response_body"]["content"][0]
    assert logged == {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    assert record["cost_usd"] == pytest.approx(price(message.usage))


def test_streamed_tool_use_input_is_assembled(gateway, org, client):
    with client.messages.stream(
        model=MODEL,
        max_tokens=200,
        tools=[TOOL],
        messages=[{"role": "user", "content": "weather in Lima please"}],
    ) as stream:
        request_id = stream.response.headers["helicone-id"]
        message = stream.get_final_message()
    block = message.content[0]
    assert block.type == "tool_use"
    record = gateway.record(org, request_id)
    assert record["response_body"]["content"][0]["input"] == block.input
    assert record["response_body"]["stop_reason"] == "tool_use"
    assert record["completion_tokens"] == message.usage.output_tokens


def test_extended_thinking_streams_thinking_and_signature(gateway, org, client):
    with client.messages.stream(
        model=MODEL,
        max_tokens=4096,
        thinking=THINKING,
        messages=[{"role": "user", "content": "think it through"}],
    ) as stream:
        request_id = stream.response.headers["helicone-id"]
        kinds = {event.delta.type for event in stream if event.type == "content_block_delta"}
        message = stream.get_final_message()
    assert {"thinking_delta", "signature_delta", "text_delta"} <= kinds
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.signature

    record = gateway.record(org, request_id)
    logged = record["response_body"]["content"]
    assert logged[0] == {
        "type": "thinking",
        "thinking": thinking.thinking,
        "signature": thinking.signature,
    }
    assert logged[1]["text"] == text.text
    assert record["completion_tokens"] == message.usage.output_tokens
    assert record["cost_usd"] == pytest.approx(price(message.usage))


def test_thinking_without_streaming_is_logged_as_sent(gateway, org, client):
    raw = client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=4096,
        thinking=THINKING,
        messages=[{"role": "user", "content": "ponder"}],
    )
    message = raw.parse()
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["response_body"]["content"][0]["signature"] == message.content[0].signature


@pytest.mark.parametrize("stream", [False, True])
def test_cache_reads_and_writes_are_priced_at_their_own_rates(gateway, org, client, fake, stream):
    fake.enqueue(Behaviour(cached_tokens=3000, cache_creation_tokens=1200))
    system = [{"type": "text", "text": "a long context", "cache_control": {"type": "ephemeral"}}]
    kwargs = {
        "model": MODEL,
        "max_tokens": 100,
        "system": system,
        "messages": [{"role": "user", "content": "use the cache"}],
    }
    if stream:
        with client.messages.stream(**kwargs) as streamed:
            request_id = streamed.response.headers["helicone-id"]
            message = streamed.get_final_message()
    else:
        raw = client.messages.with_raw_response.create(**kwargs)
        request_id, message = raw.headers["helicone-id"], raw.parse()
    usage = message.usage
    assert usage.cache_read_input_tokens == 3000
    assert usage.cache_creation_input_tokens == 1200

    record = gateway.record(org, request_id)
    assert record["cache_read_tokens"] == 3000
    assert record["cache_write_tokens"] == 1200
    assert record["prompt_tokens"] == usage.input_tokens + 3000 + 1200
    assert record["cost_usd"] == pytest.approx(price(usage))
    all_as_input = Usage(input_tokens=record["prompt_tokens"], output_tokens=usage.output_tokens)
    flat = float(calc_price(all_as_input, model_ref=MODEL, provider_id="anthropic").total_price)
    assert record["cost_usd"] != pytest.approx(flat)


def test_count_tokens_is_logged_without_a_cost(gateway, org, client, fake):
    raw = client.messages.with_raw_response.count_tokens(
        model=MODEL, messages=[{"role": "user", "content": "how many tokens is this"}]
    )
    counted = raw.parse()
    assert counted.input_tokens > 0
    assert fake.requests[-1].path == "/v1/messages/count_tokens"
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["path"] == "/anthropic/v1/messages/count_tokens"
    assert record["response_body"] == {"input_tokens": counted.input_tokens}
    assert record["cost_usd"] is None


def test_anthropic_beta_header_is_passed_through(gateway, org, client, fake):
    raw = client.beta.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=50,
        betas=["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"],
        messages=[{"role": "user", "content": "beta please"}],
    )
    assert raw.parse().content[0].text == "Echo: beta please"
    seen = fake.requests[-1].headers["anthropic-beta"]
    assert seen == "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
    assert gateway.record(org, raw.headers["helicone-id"])["status"] == 200


def test_message_batches_pass_through_and_are_logged(gateway, org, client):
    requests = [
        {
            "custom_id": f"job-{n}",
            "params": {
                "model": MODEL,
                "max_tokens": 20,
                "messages": [{"role": "user", "content": f"batch {n}"}],
            },
        }
        for n in range(2)
    ]
    raw = client.messages.batches.with_raw_response.create(requests=requests)
    batch = raw.parse()
    assert batch.type == "message_batch"
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["path"] == "/anthropic/v1/messages/batches"
    assert record["request_body"]["requests"][1]["custom_id"] == "job-1"
    assert record["response_body"]["id"] == batch.id
    assert record["cost_usd"] is None

    fetched = client.messages.batches.with_raw_response.retrieve(batch.id)
    assert fetched.parse().processing_status == "ended"
    assert gateway.record(org, fetched.headers["helicone-id"])["response_body"]["id"] == batch.id
    results = list(client.messages.batches.results(batch.id))
    assert [r.custom_id for r in results] == ["job-0", "job-1"]


def test_ttft_is_timed_to_the_first_content_delta(gateway, org, client, fake):
    # message_start, content_block_start and ping come first, 50 ms apart.
    fake.enqueue(Behaviour(chunk_delay_s=0.05))
    with client.messages.stream(
        model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "time it"}]
    ) as stream:
        request_id = stream.response.headers["helicone-id"]
        stream.get_final_message()
    record = gateway.record(org, request_id)
    assert record["ttft_ms"] >= 3 * 50
    assert record["latency_ms"] > record["ttft_ms"]


def test_a_cached_prefix_is_written_once_then_read(gateway, org, client):
    context = f"project notes {uuid.uuid4()} " + "lorem ipsum " * 50
    kwargs = {
        "model": MODEL,
        "max_tokens": 100,
        "system": [{"type": "text", "text": context, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "first question"}],
    }
    first = client.messages.with_raw_response.create(**kwargs)
    second = client.messages.with_raw_response.create(**kwargs)
    wrote, read = first.parse().usage, second.parse().usage
    assert wrote.cache_creation_input_tokens > 0 and not wrote.cache_read_input_tokens
    assert read.cache_read_input_tokens == wrote.cache_creation_input_tokens
    assert not read.cache_creation_input_tokens

    written = gateway.record(org, first.headers["helicone-id"])
    reused = gateway.record(org, second.headers["helicone-id"])
    assert written["cache_write_tokens"] == wrote.cache_creation_input_tokens
    assert reused["cache_read_tokens"] == read.cache_read_input_tokens
    assert written["prompt_tokens"] == reused["prompt_tokens"]
    assert written["cost_usd"] == pytest.approx(price(wrote))
    assert reused["cost_usd"] == pytest.approx(price(read))
    assert reused["cost_usd"] < written["cost_usd"]
