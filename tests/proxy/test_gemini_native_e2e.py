"""Google's native Gemini API with the real google-genai SDK through a real gateway:
``generateContent`` and ``streamGenerateContent?alt=sse``, tokens from ``usageMetadata``."""

from __future__ import annotations

import uuid

import pytest
from genai_prices import Usage, calc_price
from google import genai
from google.genai import types

from relayscope.testing.fake_provider import Behaviour

MODEL = "gemini-2.5-flash"
PROVIDER_KEY = "gemini-provider-key"


CLIENTS: list[genai.Client] = []


def make_client(gateway, org, request_id: str) -> genai.Client:
    headers = {**org.auth, "Helicone-Request-Id": request_id, "Helicone-Property-Sdk": "genai"}
    options = types.HttpOptions(
        base_url=f"{gateway.url}/gemini", headers=headers, httpx_client=gateway.sdk_http()
    )
    client = genai.Client(api_key=PROVIDER_KEY, http_options=options)
    CLIENTS.append(client)  # the SDK closes its HTTP client when the Client is collected
    return client


def price(prompt: int, output: int, cached: int = 0) -> float:
    usage = Usage(input_tokens=prompt, output_tokens=output, cache_read_tokens=cached or None)
    return float(calc_price(usage, model_ref=MODEL, provider_id="google").total_price)


def test_generate_content_is_logged_with_usage_and_cost(gateway, org, fake):
    request_id = str(uuid.uuid4())
    fake.enqueue(Behaviour(cached_tokens=20))
    response = make_client(gateway, org, request_id).models.generate_content(
        model=MODEL, contents="hello gemini"
    )
    assert response.text == "Echo: hello gemini"
    seen = fake.requests[-1]
    assert seen.path.endswith(f"/models/{MODEL}:generateContent")
    assert seen.headers["x-goog-api-key"] == PROVIDER_KEY

    usage = response.usage_metadata
    assert usage is not None and usage.prompt_token_count is not None
    record = gateway.record(org, request_id)
    assert record["request_model"] == MODEL
    assert record["response_model"] == MODEL
    assert record["prompt_tokens"] == usage.prompt_token_count
    assert record["completion_tokens"] == usage.candidates_token_count
    assert record["cache_read_tokens"] == 20
    assert record["cost_usd"] == pytest.approx(
        price(usage.prompt_token_count, usage.candidates_token_count or 0, 20)
    )
    assert {k.lower(): v for k, v in record["properties"].items()} == {"sdk": "genai"}
    parts = record["response_body"]["candidates"][0]["content"]["parts"]
    assert parts == [{"text": "Echo: hello gemini"}]


def test_streamed_content_is_assembled_with_thoughts(gateway, org, fake):
    request_id = str(uuid.uuid4())
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=512)
    )
    chunks = list(
        make_client(gateway, org, request_id).models.generate_content_stream(
            model=MODEL, contents="stream some gemini words", config=config
        )
    )
    assert fake.requests[-1].query_string == "alt=sse"
    parts = [part for chunk in chunks for part in chunk.candidates[0].content.parts]
    text = "".join(part.text for part in parts if not part.thought)
    assert text == "Echo: stream some gemini words"
    usage = chunks[-1].usage_metadata
    assert usage is not None and usage.thoughts_token_count

    record = gateway.record(org, request_id)
    assert record["stream"] is True
    assert record["ttft_ms"] is not None
    assert record["prompt_tokens"] == usage.prompt_token_count
    output = (usage.candidates_token_count or 0) + usage.thoughts_token_count
    assert record["completion_tokens"] == output
    assert record["reasoning_tokens"] == usage.thoughts_token_count
    assert record["cost_usd"] == pytest.approx(price(usage.prompt_token_count or 0, output))
    logged = record["response_body"]["candidates"][0]
    assert logged["content"]["parts"] == [
        {"text": parts[0].text, "thought": True},
        {"text": text},
    ]
    assert logged["finishReason"] == "STOP"


def test_function_calls_are_logged(gateway, org):
    request_id = str(uuid.uuid4())
    weather = types.FunctionDeclaration(
        name="get_weather",
        description="Weather in a city",
        parameters=types.Schema(
            type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
        ),
    )
    response = make_client(gateway, org, request_id).models.generate_content(
        model=MODEL,
        contents="what is the weather in Rome?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[weather])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )
    call = response.function_calls[0]
    assert call.name == "get_weather"
    record = gateway.record(org, request_id)
    logged = record["response_body"]["candidates"][0]["content"]["parts"][0]
    assert logged == {"functionCall": {"name": "get_weather", "args": call.args}}


def test_stream_without_sse_is_one_json_array_and_still_counted(gateway, org):
    request_id = str(uuid.uuid4())
    response = gateway.post(
        f"/gemini/v1beta/models/{MODEL}:streamGenerateContent",
        json={"contents": [{"role": "user", "parts": [{"text": "array stream"}]}]},
        headers={**org.auth, "Helicone-Request-Id": request_id, "x-goog-api-key": PROVIDER_KEY},
    )
    chunks = response.json()
    assert isinstance(chunks, list) and len(chunks) == 3
    usage = chunks[-1]["usageMetadata"]
    record = gateway.record(org, request_id)
    assert record["prompt_tokens"] == usage["promptTokenCount"]
    assert record["completion_tokens"] == usage["candidatesTokenCount"]
    assert record["response_body"]["candidates"][0]["content"]["parts"] == [
        {"text": "Echo: array stream"}
    ]
