"""Fallbacks through a real gateway: other models, other providers, Helicone's gateway form."""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.fake_provider import Behaviour

from .conftest import ANTHROPIC_KEY, CLAUDE, FAST_RETRIES, OPENAI_KEY

FALLBACK_ANTHROPIC_KEY = "sk-ant-fallback-key-7777"
FALLBACK_OPENAI_KEY = "sk-openai-fallback-key-8888"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        },
    },
}


def seed(*entries: dict) -> dict[str, str]:
    return {"Helicone-Fallback": orjson.dumps(list(entries)).decode()}


def to_claude(**extra) -> dict[str, str]:
    return seed(
        {"provider": "anthropic", "model": CLAUDE, "api_key": FALLBACK_ANTHROPIC_KEY, **extra}
    )


def price(model: str, provider: str, prompt: int, completion: int) -> float:
    usage = Usage(input_tokens=prompt, output_tokens=completion)
    return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)


def test_fallback_to_another_model_of_the_same_provider(gateway, org, oai, fake):
    fake.enqueue(Behaviour(status=503))
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "plan b"}],
        extra_headers=seed({"model": "gpt-4o-mini"}),
    )
    completion = raw.parse()
    assert completion.model == "gpt-4o-mini"
    assert [r.json["model"] for r in fake.requests] == ["gpt-4o", "gpt-4o-mini"]
    assert fake.requests[1].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert raw.headers["helicone-fallback-index"] == "1"
    assert raw.headers["helicone-retry-attempts"] == "1"

    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["fallback_index"] == 1
    assert [(a["fallback_index"], a["model"], a["status"]) for a in record["attempts"]] == [
        (0, "gpt-4o", 503),
        (1, "gpt-4o-mini", 200),
    ]
    assert record["response_model"] == "gpt-4o-mini"
    usage = completion.usage
    assert record["cost_usd"] == pytest.approx(
        price("gpt-4o-mini", "openai", usage.prompt_tokens, usage.completion_tokens)
    )


def test_each_entry_gets_its_own_retries(gateway, org, oai, fake):
    fake.enqueue(Behaviour(status=500), Behaviour(status=500), Behaviour(status=429))
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "again"}],
        extra_headers={**FAST_RETRIES, "Helicone-Retry-Num": "1", **seed({"model": "gpt-4o-mini"})},
    )
    assert raw.parse().model == "gpt-4o-mini"
    assert fake.calls == 4
    assert raw.headers["helicone-fallback-index"] == "1"
    assert raw.headers["helicone-retry-attempts"] == "3"
    record = gateway.record(org, raw.headers["helicone-id"])
    assert [(a["fallback_index"], a["status"]) for a in record["attempts"]] == [
        (0, 500),
        (0, 500),
        (1, 429),
        (1, 200),
    ]


def test_a_client_error_does_not_fall_back(oai, fake):
    fake.enqueue(Behaviour(status=400))
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "x"}],
            extra_headers=seed({"model": "gpt-4o-mini"}),
        )
    assert fake.calls == 1
    assert caught.value.response.headers["helicone-fallback-index"] == "0"


def test_when_every_entry_fails_the_client_gets_the_last_failure(oai, fake):
    fake.enqueue(Behaviour(status=503), Behaviour(status=529))
    with pytest.raises(openai.APIStatusError) as caught:
        oai.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "x"}],
            extra_headers=seed({"model": "gpt-4o-mini"}),
        )
    assert caught.value.status_code == 529
    assert fake.calls == 2


def test_openai_client_falls_back_to_claude(gateway, org, oai, fake):
    fake.enqueue(Behaviour(status=503))
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "answer briefly"},
            {"role": "user", "content": "the capital of Norway"},
        ],
        max_tokens=40,
        temperature=0.5,
        stop=["\n\n"],
        extra_headers=to_claude(),
    )
    completion = raw.parse()
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Echo: the capital of Norway"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == CLAUDE
    assert raw.headers["helicone-fallback-index"] == "1"

    upstream = fake.requests[1]
    assert upstream.path == "/v1/messages"
    assert upstream.headers["x-api-key"] == FALLBACK_ANTHROPIC_KEY
    assert "authorization" not in upstream.headers, "the OpenAI key must not reach Anthropic"
    assert OPENAI_KEY.encode() not in upstream.body
    assert upstream.headers["anthropic-version"] == "2023-06-01"
    assert upstream.json == {
        "model": CLAUDE,
        "system": "answer briefly",
        "messages": [{"role": "user", "content": "the capital of Norway"}],
        "max_tokens": 40,
        "temperature": 0.5,
        "stop_sequences": ["\n\n"],
    }

    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["provider"] == "anthropic"
    assert record["fallback_index"] == 1
    assert [(a["provider"], a["model"]) for a in record["attempts"]] == [
        ("openai", "gpt-4o"),
        ("anthropic", CLAUDE),
    ]
    assert record["prompt_tokens"] == completion.usage.prompt_tokens
    assert record["completion_tokens"] == completion.usage.completion_tokens
    assert record["response_body"]["type"] == "message", "the log keeps what Claude sent"
    assert record["cost_usd"] == pytest.approx(
        price(CLAUDE, "anthropic", record["prompt_tokens"], record["completion_tokens"])
    )


def test_openai_tool_calls_and_results_survive_the_trip_to_claude(oai, fake):
    fake.enqueue(Behaviour(status=503))
    first = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "what is the weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        extra_headers=to_claude(),
    )
    (call,) = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert orjson.loads(call.function.arguments) == {"city": "fake-city", "unit": "c"}
    assert (
        fake.requests[1].json["tools"][0]["input_schema"] == WEATHER_TOOL["function"]["parameters"]
    )

    fake.enqueue(Behaviour(status=503))
    second = oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "user", "content": "what is the weather in Oslo?"},
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "12 degrees and rain"},
        ],
        tools=[WEATHER_TOOL],
        extra_headers=to_claude(),
    )
    assert second.choices[0].message.content == "Echo: 12 degrees and rain"
    sent = fake.requests[3].json["messages"]
    assert sent[1]["content"][0]["type"] == "tool_use" and sent[1]["content"][0]["id"] == call.id
    assert sent[2]["content"] == [
        {"type": "tool_result", "tool_use_id": call.id, "content": "12 degrees and rain"}
    ]


def test_images_go_to_claude_as_urls(oai, fake):
    fake.enqueue(Behaviour(status=503))
    oai.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "describe"},
                    {"type": "image_url", "image_url": {"url": "https://img.example/cat.png"}},
                ],
            }
        ],
        extra_headers=to_claude(),
    )
    assert fake.requests[1].json["messages"][0]["content"][1] == {
        "type": "image",
        "source": {"type": "url", "url": "https://img.example/cat.png"},
    }


def test_openai_stream_falls_back_to_a_claude_stream(gateway, org, oai, fake):
    fake.enqueue(Behaviour(status=503))
    with oai.chat.completions.with_streaming_response.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "stream me a fallback"}],
        stream=True,
        extra_headers=to_claude(),
    ) as response:
        chunks = list(response.parse())
        request_id = response.headers["helicone-id"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: stream me a fallback"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.object == "chat.completion.chunk" and c.usage is None for c in chunks)
    assert fake.requests[1].json["stream"] is True

    record = gateway.record(org, request_id)
    assert record["provider"] == "anthropic" and record["stream"] is True
    assert record["completion_tokens"] == 5 and record["prompt_tokens"] > 0
    assert record["cost_usd"] == pytest.approx(
        price(CLAUDE, "anthropic", record["prompt_tokens"], record["completion_tokens"])
    )


def test_openai_stream_from_claude_carries_usage_and_tool_calls_when_asked(oai, fake):
    fake.enqueue(Behaviour(status=503))
    stream = oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        stream=True,
        stream_options={"include_usage": True},
        extra_headers=to_claude(),
    )
    chunks = list(stream)
    arguments = "".join(
        call.function.arguments or ""
        for c in chunks
        if c.choices
        for call in c.choices[0].delta.tool_calls or []
    )
    assert orjson.loads(arguments) == {"city": "fake-city", "unit": "c"}
    names = [
        call.function.name
        for c in chunks
        if c.choices
        for call in c.choices[0].delta.tool_calls or []
        if call.function.name
    ]
    assert names == ["get_weather"]
    (usage,) = [c.usage for c in chunks if c.usage is not None]
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_anthropic_client_falls_back_to_openai(gateway, org, claude, fake):
    fake.enqueue(Behaviour(status=529))
    raw = claude.messages.with_raw_response.create(
        model=CLAUDE,
        max_tokens=64,
        system="be brief",
        messages=[{"role": "user", "content": "hello from claude land"}],
        stop_sequences=["END"],
        extra_headers=seed(
            {"provider": "openai", "model": "gpt-4o-mini", "api_key": FALLBACK_OPENAI_KEY}
        ),
    )
    message = raw.parse()
    assert message.type == "message"
    assert message.content[0].text == "Echo: hello from claude land"
    assert message.stop_reason == "end_turn"
    assert message.model == "gpt-4o-mini"

    upstream = fake.requests[1]
    assert upstream.path == "/v1/chat/completions"
    assert upstream.headers["authorization"] == f"Bearer {FALLBACK_OPENAI_KEY}"
    assert "x-api-key" not in upstream.headers and "anthropic-version" not in upstream.headers
    assert ANTHROPIC_KEY.encode() not in upstream.body
    assert upstream.json["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello from claude land"},
    ]
    assert upstream.json["stop"] == ["END"] and upstream.json["max_tokens"] == 64

    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["provider"] == "openai" and record["fallback_index"] == 1
    assert record["prompt_tokens"] == message.usage.input_tokens
    assert record["completion_tokens"] == message.usage.output_tokens
    assert record["cost_usd"] == pytest.approx(
        price("gpt-4o-mini", "openai", record["prompt_tokens"], record["completion_tokens"])
    )


def test_anthropic_stream_falls_back_to_an_openai_stream(gateway, org, claude, fake):
    fake.enqueue(Behaviour(status=529))
    with claude.messages.stream(
        model=CLAUDE,
        max_tokens=64,
        messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[
            {
                "name": "get_weather",
                "input_schema": WEATHER_TOOL["function"]["parameters"],
            }
        ],
        extra_headers=seed(
            {"provider": "openai", "model": "gpt-4o-mini", "api_key": FALLBACK_OPENAI_KEY}
        ),
    ) as stream:
        message = stream.get_final_message()
        request_id = stream.response.headers["helicone-id"]
    (block,) = message.content
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"city": "fake-city", "unit": "c"}
    assert message.stop_reason == "tool_use"
    assert fake.requests[1].json["stream_options"] == {"include_usage": True}

    record = gateway.record(org, request_id)
    assert record["provider"] == "openai" and record["stream"] is True
    assert message.usage.input_tokens == record["prompt_tokens"]
    assert message.usage.output_tokens == record["completion_tokens"] > 0


def test_anthropic_text_stream_from_openai(claude, fake):
    fake.enqueue(Behaviour(status=503))
    with claude.messages.stream(
        model=CLAUDE,
        max_tokens=64,
        messages=[{"role": "user", "content": "a short text stream"}],
        extra_headers=seed(
            {"provider": "openai", "model": "gpt-4o-mini", "api_key": FALLBACK_OPENAI_KEY}
        ),
    ) as stream:
        text = "".join(stream.text_stream)
    assert text == "Echo: a short text stream"


def test_cross_provider_entry_without_credentials_is_skipped(gateway, org, oai, fake):
    fake.enqueue(Behaviour(status=503))
    with pytest.raises(openai.InternalServerError) as caught:
        oai.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "x"}],
            extra_headers=seed({"provider": "anthropic", "model": CLAUDE}),
        )
    assert fake.calls == 1, "nothing is sent to Anthropic without Anthropic credentials"
    headers = caught.value.response.headers
    assert headers["helicone-fallback-index"] == "0"
    record = gateway.record(org, headers["helicone-id"])
    assert record["attempts"][1]["status"] is None
    assert "no credentials for anthropic" in record["attempts"][1]["error"]


def test_gateway_form_tries_targets_in_order(gateway, org, fake):
    fallbacks = [
        {
            "target-url": fake.url,
            "headers": {"Authorization": "Bearer first-key", "x-fake-status": "503"},
            "onCodes": [{"from": 500, "to": 599}],
        },
        {
            "target-url": fake.url,
            "headers": {"Authorization": "Bearer second-key"},
            "bodyKeyOverride": {"model": "gpt-4o-mini", "temperature": 0},
        },
    ]
    response = gateway.post(
        "/gateway/v1/chat/completions",
        headers={**org.auth, "Helicone-Fallbacks": orjson.dumps(fallbacks).decode()},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "gateway form"}]},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["helicone-fallback-index"] == "1"
    assert response.json()["model"] == "gpt-4o-mini"
    first, second = fake.requests
    assert first.path == second.path == "/v1/chat/completions"
    assert first.headers["authorization"] == "Bearer first-key" and first.json["model"] == "gpt-4o"
    assert second.headers["authorization"] == "Bearer second-key"
    assert second.json["model"] == "gpt-4o-mini" and second.json["temperature"] == 0
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["fallback_index"] == 1
    assert [a["status"] for a in record["attempts"]] == [503, 200]


def test_gateway_form_moves_on_only_for_its_on_codes(gateway, org, fake):
    fallbacks = [
        {"target-url": fake.url, "headers": {"x-fake-status": "503"}, "onCodes": [401, 403]},
        {"target-url": fake.url},
    ]
    response = gateway.post(
        "/gateway/v1/chat/completions",
        headers={**org.auth, "Helicone-Fallbacks": orjson.dumps(fallbacks).decode()},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
        timeout=10,
    )
    assert response.status_code == 503
    assert response.headers["helicone-fallback-index"] == "0"
    assert fake.calls == 1


def test_gateway_form_after_a_provider_route(oai, fake):
    fake.enqueue(Behaviour(status=500))
    raw = oai.chat.completions.with_raw_response.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "x"}],
        extra_headers={
            "Helicone-Fallbacks": orjson.dumps(
                [{"target-url": fake.url, "bodyKeyOverride": {"model": "gpt-4o-mini"}}]
            ).decode()
        },
    )
    assert raw.headers["helicone-fallback-index"] == "1"
    assert fake.requests[1].json["model"] == "gpt-4o-mini"
    assert fake.requests[1].headers["authorization"] == f"Bearer {OPENAI_KEY}"


@pytest.mark.parametrize(
    ("path", "header", "value", "mentions"),
    [
        ("/openai/v1/chat/completions", "Helicone-Fallback", "not json", "JSON"),
        ("/openai/v1/chat/completions", "Helicone-Fallback", '[{"model": "m", "x": 1}]', "'x'"),
        (
            "/openai/v1/chat/completions",
            "Helicone-Fallback",
            '[{"provider": "nope", "model": "m"}]',
            "unknown provider",
        ),
        (
            "/openai/v1/chat/completions",
            "Helicone-Fallback",
            '[{"provider": "anthropic"}]',
            "needs a model",
        ),
        (
            "/openai/v1/embeddings",
            "Helicone-Fallback",
            '[{"provider": "anthropic", "model": "c"}]',
            "translated",
        ),
        (
            "/openai/v1/chat/completions",
            "Helicone-Fallbacks",
            '[{"target-url": "https://evil.example"}]',
            "allowlist",
        ),
        (
            "/gateway/v1/chat/completions",
            "Helicone-Fallbacks",
            '[{"target-url": "http://127.0.0.1:1"}]',
            "allowlist",
        ),
        ("/gateway/v1/chat/completions", "Helicone-Fallbacks", "[]", "target-url"),
        (
            "/gateway/v1/chat/completions",
            "Helicone-Fallbacks",
            '[{"target-url": "FAKE", "onCodes": "5xx"}]',
            "onCodes",
        ),
    ],
)
def test_bad_fallback_headers_are_400_naming_the_header(
    gateway, org, fake, path, header, value, mentions
):
    response = gateway.post(
        path,
        headers={**org.auth, header: value.replace("FAKE", fake.url)},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "input": "x"},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == header
    assert mentions in error["message"]
    assert fake.calls == 0


def test_anthropic_sdk_sees_anthropic_errors_when_the_openai_fallback_fails(claude, fake):
    fake.enqueue(Behaviour(status=529), Behaviour(status=429))
    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(
            model=CLAUDE,
            max_tokens=10,
            messages=[{"role": "user", "content": "x"}],
            extra_headers=seed(
                {"provider": "openai", "model": "gpt-4o-mini", "api_key": FALLBACK_OPENAI_KEY}
            ),
        )
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "fake provider: scripted HTTP 429"},
    }


def test_fallback_skipped_for_lack_of_credentials_is_reported(gateway, org, oai, fake):
    """Not a quiet primary error: the client learns the fallback never ran, and why."""
    fake.enqueue(Behaviour(status=503))
    with pytest.raises(openai.InternalServerError) as caught:
        oai.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "x"}],
            extra_headers=seed({"provider": "anthropic", "model": CLAUDE}),
        )
    warning = caught.value.response.headers["helicone-warning"]
    assert "Helicone-Fallback" in warning
    assert "no credential was available for anthropic" in warning
    body = caught.value.response.json()
    assert "no credential was available for anthropic" in body["error"]["message"]
    assert fake.calls == 1
