"""OpenAI's Responses API: the real openai SDK through a real gateway to the fake provider."""

from __future__ import annotations

import openai
import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.fake_provider import Behaviour

PROVIDER_KEY = "sk-provider-secret-0123456789"
MODEL = "gpt-4o-mini"
REASONER = "o3-mini"
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(gateway, org):
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key=PROVIDER_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk


def price(model: str, usage: openai.types.responses.ResponseUsage) -> float:
    cached = usage.input_tokens_details.cached_tokens
    counted = Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=cached or None,
    )
    return float(calc_price(counted, model_ref=model, provider_id="openai").total_price)


def test_non_streaming_response_is_logged_with_usage_cost_and_tags(gateway, org, client, fake):
    fake.enqueue(Behaviour(cached_tokens=16))
    raw = client.responses.with_raw_response.create(
        model=MODEL,
        instructions="be brief",
        input="hello responses",
        extra_headers={"Helicone-User-Id": "dora", "Helicone-Property-Agent": "codex"},
    )
    response = raw.parse()
    assert response.output_text == "Echo: hello responses"
    assert fake.requests[-1].path == "/v1/responses"
    assert fake.requests[-1].json["input"] == "hello responses"

    record = gateway.record(org, raw.headers["helicone-id"])
    usage = response.usage
    assert usage is not None
    assert record["path"] == "/openai/v1/responses"
    assert record["prompt_tokens"] == usage.input_tokens
    assert record["completion_tokens"] == usage.output_tokens
    assert record["cache_read_tokens"] == 16
    assert record["reasoning_tokens"] == 0
    assert record["cost_usd"] == pytest.approx(price(MODEL, usage))
    assert record["response_model"] == MODEL
    assert record["user_id"] == "dora"
    assert {k.lower(): v for k, v in record["properties"].items()} == {"agent": "codex"}
    assert record["response_body"]["object"] == "response"
    assert record["response_body"]["output"][0]["content"][0]["text"] == response.output_text


def test_streamed_response_is_assembled_from_its_events(gateway, org, client):
    with client.responses.with_streaming_response.create(
        model=MODEL, input="stream the responses api", stream=True
    ) as raw:
        request_id = raw.headers["helicone-id"]
        events = list(raw.parse())
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Echo: stream the responses api"
    completed = events[-1].response
    assert completed.usage is not None

    record = gateway.record(org, request_id)
    assert record["stream"] is True
    assert record["ttft_ms"] is not None
    assert record["prompt_tokens"] == completed.usage.input_tokens
    assert record["completion_tokens"] == completed.usage.output_tokens
    assert record["cost_usd"] == pytest.approx(price(MODEL, completed.usage))
    body = record["response_body"]
    assert body["object"] == "response"
    assert body["status"] == "completed"
    assert body["output"][0]["content"][0]["text"] == text


def test_reasoning_items_and_tokens_stream_through(gateway, org, client):
    with client.responses.with_streaming_response.create(
        model=REASONER,
        input="think about this",
        reasoning={"effort": "low", "summary": "auto"},
        stream=True,
    ) as raw:
        request_id = raw.headers["helicone-id"]
        events = list(raw.parse())
    summary = "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
    completed = events[-1].response
    assert completed.usage is not None
    reasoning = completed.usage.output_tokens_details.reasoning_tokens
    assert reasoning > 0 and summary

    record = gateway.record(org, request_id)
    assert record["reasoning_tokens"] == reasoning
    assert record["completion_tokens"] == completed.usage.output_tokens
    assert record["cost_usd"] == pytest.approx(price(REASONER, completed.usage))
    items = record["response_body"]["output"]
    assert [item["type"] for item in items] == ["reasoning", "message"]
    assert items[0]["summary"][0]["text"] == summary


@pytest.mark.parametrize("stream", [False, True])
def test_tool_call_round_trip_with_previous_response_id(gateway, org, client, stream):
    def create(**kwargs: object) -> tuple[openai.types.responses.Response, str]:
        if not stream:
            raw = client.responses.with_raw_response.create(model=MODEL, **kwargs)
            return raw.parse(), raw.headers["helicone-id"]
        with client.responses.with_streaming_response.create(
            model=MODEL, stream=True, **kwargs
        ) as raw:
            events = list(raw.parse())
            return events[-1].response, raw.headers["helicone-id"]

    first, first_id = create(input="what is the weather in Paris?", tools=[WEATHER_TOOL])
    call = first.output[0]
    assert call.type == "function_call"
    assert call.name == "get_weather"
    record = gateway.record(org, first_id)
    logged_call = record["response_body"]["output"][0]
    assert logged_call["type"] == "function_call"
    assert logged_call["arguments"] == call.arguments

    second, second_id = create(
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        tools=[WEATHER_TOOL],
    )
    assert second.output_text == "Echo: sunny"
    record = gateway.record(org, second_id)
    assert second.usage is not None and first.usage is not None
    assert record["prompt_tokens"] == second.usage.input_tokens > first.usage.total_tokens
    assert record["request_body"]["previous_response_id"] == first.id
    assert record["cost_usd"] == pytest.approx(price(MODEL, second.usage))


def test_get_and_delete_pass_through_and_are_logged_without_cost(gateway, org, client):
    made = client.responses.create(model=MODEL, input="keep me")
    raw = client.responses.with_raw_response.retrieve(made.id)
    fetched = raw.parse()
    assert fetched.id == made.id and fetched.output_text == made.output_text
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["path"] == f"/openai/v1/responses/{made.id}"
    assert record["status"] == 200
    assert record["cost_usd"] is None and record["prompt_tokens"] is None
    assert record["response_body"]["id"] == made.id

    deleted = client.responses.with_raw_response.delete(made.id)
    assert deleted.status_code == 200
    record = gateway.record(org, deleted.headers["helicone-id"])
    assert record["response_body"] == {"id": made.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(made.id)


def test_unknown_previous_response_is_the_providers_400(gateway, org, client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    assert "resp_nope" in caught.value.message


def test_streamed_response_is_cached_and_the_hit_logged_at_no_cost(gateway, org, client):
    headers = {"Helicone-Cache-Enabled": "true", "Helicone-Cache-Seed": "responses-cache"}

    def stream_once() -> tuple[str, str, str]:
        with client.responses.with_streaming_response.create(
            model=MODEL, input="cache this response", stream=True, extra_headers=headers
        ) as raw:
            text = "".join(e.delta for e in raw.parse() if e.type == "response.output_text.delta")
            return raw.headers["helicone-id"], raw.headers["helicone-cache"], text

    first_id, first_state, first_text = stream_once()
    first = gateway.record(org, first_id)  # the cache stored the stream before its end
    hit_id, hit_state, hit_text = stream_once()
    assert (first_state, hit_state) == ("MISS", "HIT")
    assert hit_text == first_text
    hit = gateway.record(org, hit_id)
    assert hit["cache_hit"] is True and hit["cost_usd"] == 0
    assert hit["cost_saved_usd"] == pytest.approx(first["cost_usd"])
    assert hit["prompt_tokens"] == first["prompt_tokens"]
    assert hit["response_body"]["output"] == first["response_body"]["output"]


def test_failed_attempts_are_retried_and_logged(gateway, org, client, fake):
    fake.enqueue(Behaviour(status=503), Behaviour(status=500))
    retries = {
        "Helicone-Retry-Enabled": "true",
        "Helicone-Retry-Num": "2",
        "Helicone-Retry-Min-Timeout": "10",
        "Helicone-Retry-Max-Timeout": "40",
    }
    with client.responses.with_streaming_response.create(
        model=MODEL, input="retry me", stream=True, extra_headers=retries
    ) as raw:
        request_id = raw.headers["helicone-id"]
        completed = list(raw.parse())[-1].response
    assert fake.calls == 3
    record = gateway.record(org, request_id)
    assert [a["status"] for a in record["attempts"]] == [503, 500, 200]
    assert completed.usage is not None
    assert record["completion_tokens"] == completed.usage.output_tokens
    assert record["cost_usd"] == pytest.approx(price(MODEL, completed.usage))


def test_ttft_is_timed_to_the_first_output_not_the_opening_events(gateway, org, client, fake):
    # The fake waits 50 ms before each event after the first: the first text delta is
    # the fifth event (after created, in_progress, output_item.added, content_part.added).
    fake.enqueue(Behaviour(chunk_delay_s=0.05))
    with client.responses.with_streaming_response.create(
        model=MODEL, input="time my first token", stream=True
    ) as raw:
        request_id = raw.headers["helicone-id"]
        list(raw.parse())
    record = gateway.record(org, request_id)
    assert record["ttft_ms"] >= 4 * 50
    assert record["latency_ms"] > record["ttft_ms"]
