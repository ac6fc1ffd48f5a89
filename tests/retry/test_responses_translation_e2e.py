"""Responses API requests served by chat completions and Anthropic fallbacks: the real
openai SDK gets Responses objects and events back, and the record is priced as served."""

from __future__ import annotations

import openai
import orjson
import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.fake_provider import Behaviour

from .conftest import CLAUDE

FALLBACK_ANTHROPIC_KEY = "sk-ant-fallback-key-7777"
TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def to(provider: str, model: str, **extra: object) -> dict[str, str]:
    entry = {"provider": provider, "model": model, "api_key": FALLBACK_ANTHROPIC_KEY, **extra}
    return {"Helicone-Fallback": orjson.dumps([entry]).decode()}


def test_a_response_served_by_claude(gateway, org, oai, fake):
    fake.enqueue(Behaviour(status=503))
    raw = oai.responses.with_raw_response.create(
        model="gpt-4o",
        instructions="answer briefly",
        input="the capital of Norway",
        max_output_tokens=40,
        extra_headers=to("anthropic", CLAUDE),
    )
    response = raw.parse()
    assert response.object == "response"
    assert response.output_text == "Echo: the capital of Norway"
    assert raw.headers["helicone-fallback-index"] == "1"
    sent = fake.requests[1]
    assert sent.path == "/v1/messages"
    assert sent.json["system"] == "answer briefly"
    assert sent.json["max_tokens"] == 40

    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["provider"] == "anthropic"
    assert response.usage is not None
    assert record["prompt_tokens"] == response.usage.input_tokens
    assert record["completion_tokens"] == response.usage.output_tokens
    usage = Usage(
        input_tokens=response.usage.input_tokens, output_tokens=response.usage.output_tokens
    )
    expected = float(calc_price(usage, model_ref=CLAUDE, provider_id="anthropic").total_price)
    assert record["cost_usd"] == pytest.approx(expected)


@pytest.mark.parametrize(
    "provider,model", [("anthropic", CLAUDE), ("groq", "llama-3.1-8b-instant")]
)
def test_streamed_tool_call_comes_back_as_responses_events(oai, fake, provider, model):
    fake.enqueue(Behaviour(status=503))
    with oai.responses.stream(
        model="gpt-4o",
        input="what is the weather in Oslo?",
        tools=[TOOL],
        extra_headers=to(provider, model),
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in kinds
    (call,) = final.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert orjson.loads(call.arguments) == {"city": "fake-city"}
    assert final.usage is not None and final.usage.output_tokens > 0


def test_streamed_text_from_a_chat_provider(oai, fake):
    fake.enqueue(Behaviour(status=503))
    with oai.responses.stream(
        model="gpt-4o", input="stream it back", extra_headers=to("groq", "llama-3.1-8b-instant")
    ) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == final.output_text == "Echo: stream it back"
    assert fake.requests[1].json["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "field,extra",
    [
        ("previous_response_id", {"previous_response_id": "resp_earlier"}),
        ("tools[0].type", {"tools": [{"type": "web_search"}]}),
    ],
)
def test_what_cannot_be_translated_is_named_in_the_record(gateway, org, oai, fake, field, extra):
    fake.enqueue(Behaviour(status=503))
    with pytest.raises(openai.InternalServerError) as caught:
        oai.responses.create(
            model="gpt-4o", input="hi", extra_headers=to("anthropic", CLAUDE), extra_body=extra
        )
    assert fake.calls == 1  # the fallback was never sent
    # The primary's error is the answer (the request was valid for it), and it says
    # why the fallback was not tried, naming the field.
    answer = caught.value.response
    assert any(
        field in warning and "cannot be translated" in warning
        for warning in answer.headers.get_list("helicone-warning")
    )
    assert field in answer.json()["error"]["message"]
    record = gateway.record(org, answer.headers["helicone-id"])
    skipped = record["attempts"][-1]
    assert skipped["provider"] == "anthropic"
    assert f"{field}" in skipped["error"] and "cannot be translated" in skipped["error"]
