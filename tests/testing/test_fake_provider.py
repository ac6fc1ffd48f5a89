from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from relayscope.testing.fake_provider import Behaviour, FakeProvider, embedding_vector

SRC = Path(__file__).resolve().parents[2] / "src"
WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather",
    "input_schema": WEATHER_TOOL_OPENAI["function"]["parameters"],
}
WEATHER_ARGUMENTS = {"location": "fake-location", "unit": "celsius"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeProvider) -> Iterator[FakeProvider]:
    server.reset()
    yield server
    server.reset()


@pytest.fixture
def http(fake: FakeProvider) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, timeout=5) as client:
        yield client


@pytest.fixture
def oai(fake: FakeProvider) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-test", max_retries=0, timeout=5)
    yield client
    client.close()


@pytest.fixture
def claude(fake: FakeProvider) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-test", max_retries=0, timeout=5)
    yield client
    client.close()


@pytest.fixture
async def async_oai(fake: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=fake.url + "/v1", api_key="sk-test", max_retries=0, timeout=5
    ) as client:
        yield client


def user(text: Any) -> dict[str, Any]:
    return {"role": "user", "content": text}


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [user(text)], **extra}


def sse_data(raw: str) -> list[str]:
    return [line[len("data: ") :] for line in raw.splitlines() if line.startswith("data: ")]


class TestOpenAIChat:
    def test_non_streaming_echoes_the_last_user_message(self, oai: openai.OpenAI) -> None:
        completion = oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "be brief"},
                user("first question"),
                {"role": "assistant", "content": "an answer"},
                user("hello there"),
            ],
        )
        assert completion.object == "chat.completion"
        assert completion.model == "gpt-4o-mini"
        assert completion.id.startswith("chatcmpl-")
        choice = completion.choices[0]
        assert choice.message.role == "assistant"
        assert choice.message.content == "Echo: hello there"
        assert choice.finish_reason == "stop"
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == 4 * 3 + 2 + 2 + 2 + 2
        assert completion.usage.completion_tokens == 3
        assert completion.usage.total_tokens == 4 * 3 + 8 + 3

    def test_content_parts_are_joined(self, oai: openai.OpenAI) -> None:
        parts = [
            {"type": "text", "text": "look at"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
            {"type": "text", "text": "this"},
        ]
        completion = oai.chat.completions.create(model="gpt-4o", messages=[user(parts)])
        assert completion.choices[0].message.content == "Echo: look at this"
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == 3 + 3

    def test_max_tokens_truncates_with_finish_reason_length(self, oai: openai.OpenAI) -> None:
        completion = oai.chat.completions.create(
            model="gpt-4o-mini", messages=[user("one two three four")], max_completion_tokens=2
        )
        assert completion.choices[0].message.content == "Echo: one"
        assert completion.choices[0].finish_reason == "length"
        assert completion.usage is not None
        assert completion.usage.completion_tokens == 2

    def test_stream_with_usage(self, oai: openai.OpenAI) -> None:
        stream = oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[user("hello big world")],
            stream=True,
            stream_options={"include_usage": True},
        )
        with stream:
            chunks = list(stream)
        assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
        assert all(chunk.model == "gpt-4o-mini" for chunk in chunks)
        assert chunks[0].choices[0].delta.role == "assistant"
        contents = [c.choices[0].delta.content for c in chunks[1:-2]]
        assert contents == ["Echo:", " hello", " big", " world"]
        assert chunks[-2].choices[0].finish_reason == "stop"
        assert chunks[-1].choices == []
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.prompt_tokens == 3 + 3
        assert chunks[-1].usage.completion_tokens == 4
        assert all(chunk.usage is None for chunk in chunks[:-1])

    def test_stream_without_include_usage_has_no_usage_chunk(self, http: httpx.Client) -> None:
        response = http.post("/v1/chat/completions", json=chat_body("hi", stream=True))
        assert response.headers["content-type"].startswith("text/event-stream")
        data = sse_data(response.text)
        assert data[-1] == "[DONE]"
        chunks = [json.loads(item) for item in data[:-1]]
        assert all(chunk["choices"] and "usage" not in chunk for chunk in chunks)
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"

    async def test_async_client_streams_from_an_async_test(
        self, async_oai: openai.AsyncOpenAI
    ) -> None:
        stream = await async_oai.chat.completions.create(
            model="gpt-4.1", messages=[user("async works")], stream=True
        )
        async with stream:
            text = "".join([c.choices[0].delta.content or "" async for c in stream])
        assert text == "Echo: async works"


class TestOpenAITools:
    def test_weather_question_gets_a_tool_call(self, oai: openai.OpenAI) -> None:
        completion = oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[user("What is the weather in Paris?")],
            tools=[WEATHER_TOOL_OPENAI],
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        (call,) = choice.message.tool_calls or []
        assert call.type == "function"
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == WEATHER_ARGUMENTS
        assert completion.usage is not None
        assert completion.usage.completion_tokens == -(-len(call.function.arguments) // 4)

    def test_streamed_tool_call_arguments_arrive_incrementally(self, oai: openai.OpenAI) -> None:
        stream = oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[user("weather please")],
            tools=[WEATHER_TOOL_OPENAI],
            stream=True,
        )
        with stream:
            chunks = list(stream)
        opening = chunks[0].choices[0].delta.tool_calls or []
        assert opening[0].id and opening[0].function and opening[0].function.name == "get_weather"
        fragments = [
            call.function.arguments
            for chunk in chunks[1:-1]
            for call in chunk.choices[0].delta.tool_calls or []
            if call.function and call.function.arguments
        ]
        assert len(fragments) > 1
        assert json.loads("".join(fragments)) == WEATHER_ARGUMENTS
        assert chunks[-1].choices[0].finish_reason == "tool_calls"

    def test_tool_result_gets_a_text_reply(self, oai: openai.OpenAI) -> None:
        completion = oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                user("weather in Paris?"),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny 22C"},
            ],
            tools=[WEATHER_TOOL_OPENAI],
        )
        assert completion.choices[0].finish_reason == "stop"
        assert completion.choices[0].message.content == "Echo: sunny 22C"

    def test_control_header_and_tool_choice(self, oai: openai.OpenAI) -> None:
        forced = oai.chat.completions.create(
            model="m",
            messages=[user("no keyword here")],
            tools=[WEATHER_TOOL_OPENAI],
            extra_headers={"x-fake-tool-call": "true"},
        )
        assert forced.choices[0].finish_reason == "tool_calls"
        declined = oai.chat.completions.create(
            model="m", messages=[user("weather?")], tools=[WEATHER_TOOL_OPENAI], tool_choice="none"
        )
        assert declined.choices[0].message.content == "Echo: weather?"
        required = oai.chat.completions.create(
            model="m", messages=[user("hi")], tools=[WEATHER_TOOL_OPENAI], tool_choice="required"
        )
        assert required.choices[0].finish_reason == "tool_calls"


class TestEmbeddings:
    def test_sdk_default_base64_and_float_agree(self, oai: openai.OpenAI) -> None:
        packed = oai.embeddings.create(model="text-embedding-3-small", input="hello world")
        floats = oai.embeddings.create(
            model="text-embedding-3-small", input="hello world", encoding_format="float"
        )
        assert packed.model == "text-embedding-3-small"
        assert packed.data[0].embedding == floats.data[0].embedding
        assert packed.data[0].embedding == embedding_vector("hello world")
        assert len(packed.data[0].embedding) == 8
        assert packed.usage.prompt_tokens == packed.usage.total_tokens == 2

    def test_list_input_and_dimensions(self, oai: openai.OpenAI) -> None:
        result = oai.embeddings.create(
            model="text-embedding-3-large", input=["a b c", "d"], dimensions=16
        )
        assert [item.index for item in result.data] == [0, 1]
        assert result.data[0].embedding == embedding_vector("a b c", 16)
        assert result.data[0].embedding != result.data[1].embedding
        assert sum(v * v for v in result.data[1].embedding) == pytest.approx(1.0, rel=1e-5)
        assert result.usage.prompt_tokens == 4


class TestAnthropicMessages:
    def test_non_streaming(self, claude: anthropic.Anthropic) -> None:
        message = claude.messages.create(
            model="claude-3-5-sonnet-20241022",
            max_tokens=100,
            system="be kind",
            messages=[user([{"type": "text", "text": "hi there friend"}])],
        )
        assert message.type == "message"
        assert message.model == "claude-3-5-sonnet-20241022"
        assert message.content[0].type == "text"
        assert message.content[0].text == "Echo: hi there friend"
        assert message.stop_reason == "end_turn"
        assert message.usage.input_tokens == (3 + 2) + (3 + 3)
        assert message.usage.output_tokens == 4
        assert message.usage.cache_creation_input_tokens == 0
        assert message.usage.cache_read_input_tokens == 0

    def test_stream_via_sdk(self, claude: anthropic.Anthropic) -> None:
        with claude.messages.stream(
            model="claude-3-5-haiku-latest", max_tokens=100, messages=[user("stream me please")]
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text == "Echo: stream me please"
        assert final.stop_reason == "end_turn"
        assert final.usage.input_tokens == 3 + 3
        assert final.usage.output_tokens == 4

    def test_stream_event_sequence_on_the_wire(self, http: httpx.Client) -> None:
        body = {"model": "claude-x", "max_tokens": 50, "stream": True, "messages": [user("a b")]}
        response = http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})
        events = [
            line[len("event: ") :] for line in response.text.splitlines() if "event: " in line
        ]
        assert events == [
            "message_start",
            "content_block_start",
            "ping",
            *["content_block_delta"] * 3,
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
        payloads = [json.loads(item) for item in sse_data(response.text)]
        assert [p["type"] for p in payloads] == events
        assert payloads[0]["message"]["usage"]["output_tokens"] == 1
        assert payloads[-2]["usage"] == {"output_tokens": 3}

    def test_tool_use(self, claude: anthropic.Anthropic) -> None:
        message = claude.messages.create(
            model="claude-3-5-sonnet-20241022",
            max_tokens=100,
            tools=[WEATHER_TOOL_ANTHROPIC],
            messages=[user("What's the weather in Oslo?")],
        )
        assert message.stop_reason == "tool_use"
        block = message.content[0]
        assert block.type == "tool_use"
        assert block.name == "get_weather"
        assert block.input == WEATHER_ARGUMENTS

    def test_streamed_tool_use_and_follow_up(self, claude: anthropic.Anthropic) -> None:
        with claude.messages.stream(
            model="claude-3-5-sonnet-20241022",
            max_tokens=100,
            tools=[WEATHER_TOOL_ANTHROPIC],
            messages=[user("weather in Oslo?")],
        ) as stream:
            kinds = {event.type for event in stream}
            final = stream.get_final_message()
        assert "input_json" in kinds
        tool_use = final.content[0]
        assert tool_use.type == "tool_use"
        assert tool_use.input == WEATHER_ARGUMENTS
        follow_up = claude.messages.create(
            model="claude-3-5-sonnet-20241022",
            max_tokens=100,
            tools=[WEATHER_TOOL_ANTHROPIC],
            messages=[
                user("weather in Oslo?"),
                {"role": "assistant", "content": final.content},
                user([{"type": "tool_result", "tool_use_id": tool_use.id, "content": "cold"}]),
            ],
        )
        assert follow_up.stop_reason == "end_turn"
        assert follow_up.content[0].type == "text"
        assert follow_up.content[0].text == "Echo: cold"


class TestCachedTokens:
    def test_openai_reports_cached_prompt_tokens(
        self, fake: FakeProvider, oai: openai.OpenAI
    ) -> None:
        fake.enqueue(Behaviour(cached_tokens=1024))
        completion = oai.chat.completions.create(model="gpt-4o", messages=[user("hi")])
        assert completion.usage is not None
        assert completion.usage.prompt_tokens == 3 + 1 + 1024
        assert completion.usage.prompt_tokens_details is not None
        assert completion.usage.prompt_tokens_details.cached_tokens == 1024

    def test_anthropic_reports_cache_read_and_creation(
        self, fake: FakeProvider, claude: anthropic.Anthropic
    ) -> None:
        fake.enqueue(Behaviour(cached_tokens=500, cache_creation_tokens=40))
        message = claude.messages.create(model="claude-x", max_tokens=10, messages=[user("hi")])
        assert message.usage.input_tokens == 3 + 1
        assert message.usage.cache_read_input_tokens == 500
        assert message.usage.cache_creation_input_tokens == 40

    def test_header_controls_cached_tokens_in_streams(self, http: httpx.Client) -> None:
        body = chat_body("hi", stream=True, stream_options={"include_usage": True})
        response = http.post(
            "/v1/chat/completions", json=body, headers={"x-fake-cached-tokens": "7"}
        )
        usage = json.loads(sse_data(response.text)[-2])["usage"]
        assert usage["prompt_tokens_details"]["cached_tokens"] == 7
        assert usage["prompt_tokens"] == 3 + 1 + 7


class TestRouting:
    @pytest.mark.parametrize(
        "path",
        [
            "/v1/chat/completions",
            "/openai/v1/chat/completions",
            "/v1beta/openai/chat/completions",
            "/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21",
        ],
    )
    def test_provider_path_variants(self, http: httpx.Client, path: str) -> None:
        response = http.post(path, json=chat_body("ping"))
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == "Echo: ping"

    def test_azure_deployment_name_is_the_default_model(self, http: httpx.Client) -> None:
        response = http.post(
            "/openai/deployments/my-gpt/chat/completions", json={"messages": [user("x")]}
        )
        assert response.json()["model"] == "my-gpt"

    def test_unknown_path_is_a_404_in_the_callers_format(self, http: httpx.Client) -> None:
        openai_style = http.post("/v1/completions", json={})
        assert openai_style.status_code == 404
        assert openai_style.json()["error"]["type"] == "invalid_request_error"
        assert "/v1/completions" in openai_style.json()["error"]["message"]
        anthropic_style = http.get("/v1/skills", headers={"anthropic-version": "2023-06-01"})
        assert anthropic_style.status_code == 404
        assert anthropic_style.json() == {
            "type": "error",
            "error": {"type": "not_found_error", "message": "Not found"},
        }

    def test_malformed_body_is_a_400(self, http: httpx.Client) -> None:
        response = http.post("/v1/messages", content=b"{not json")
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


class TestScriptedFailures:
    def test_status_with_retry_after_seen_by_raw_http(
        self, fake: FakeProvider, http: httpx.Client
    ) -> None:
        fake.enqueue(Behaviour(status=429, headers={"retry-after": "7"}))
        response = http.post("/v1/chat/completions", json=chat_body("hi"))
        assert response.status_code == 429
        assert response.headers["retry-after"] == "7"
        error = response.json()["error"]
        assert error["code"] == "rate_limit_exceeded"
        assert set(error) == {"message", "type", "param", "code"}

    def test_openai_sdk_raises_the_matching_status_error(
        self, fake: FakeProvider, oai: openai.OpenAI
    ) -> None:
        fake.enqueue(Behaviour(status=429), Behaviour(status=503))
        with pytest.raises(openai.RateLimitError) as rate_limited:
            oai.chat.completions.create(model="m", messages=[user("hi")])
        assert rate_limited.value.status_code == 429
        with pytest.raises(openai.InternalServerError) as unavailable:
            oai.chat.completions.create(model="m", messages=[user("hi")])
        assert unavailable.value.status_code == 503
        assert oai.chat.completions.create(model="m", messages=[user("hi")]).choices
        assert fake.calls == 3

    def test_anthropic_sdk_raises_overloaded(
        self, fake: FakeProvider, claude: anthropic.Anthropic
    ) -> None:
        fake.enqueue(Behaviour(status=529))
        with pytest.raises(anthropic.OverloadedError) as overloaded:
            claude.messages.create(model="claude-x", max_tokens=10, messages=[user("hi")])
        assert overloaded.value.status_code == 529
        assert overloaded.value.body == {
            "type": "error",
            "error": {"type": "overloaded_error", "message": "fake provider: scripted HTTP 529"},
        }

    def test_default_applies_until_reset_and_queue_wins(
        self, fake: FakeProvider, http: httpx.Client
    ) -> None:
        fake.set_default(Behaviour(status=500))
        fake.enqueue(Behaviour(status=502))
        statuses = [http.post("/v1/embeddings", json={"input": "x"}).status_code for _ in range(3)]
        assert statuses == [502, 500, 500]
        fake.reset()
        assert http.post("/v1/embeddings", json={"input": "x"}).status_code == 200

    def test_custom_body(self, fake: FakeProvider, http: httpx.Client) -> None:
        fake.enqueue(Behaviour(status=400, body={"error": {"message": "custom"}}))
        fake.enqueue(Behaviour(body=b"plain text"))
        first = http.post("/v1/chat/completions", json=chat_body("hi"))
        assert (first.status_code, first.json()) == (400, {"error": {"message": "custom"}})
        second = http.post("/v1/chat/completions", json=chat_body("hi"))
        assert (second.status_code, second.text) == (200, "plain text")
        assert second.headers["content-type"].startswith("text/plain")

    def test_delay_holds_back_the_response(self, fake: FakeProvider, http: httpx.Client) -> None:
        fake.enqueue(Behaviour(delay_s=0.3))
        with pytest.raises(httpx.ReadTimeout):
            http.post("/v1/chat/completions", json=chat_body("hi"), timeout=0.05)
        fake.enqueue(Behaviour(delay_s=0.15))
        started = time.perf_counter()
        assert http.post("/v1/chat/completions", json=chat_body("hi")).status_code == 200
        assert time.perf_counter() - started >= 0.14

    def test_chunk_delay_spaces_out_stream_events(
        self, fake: FakeProvider, http: httpx.Client
    ) -> None:
        fake.enqueue(Behaviour(chunk_delay_s=0.04))
        arrivals = []
        with http.stream("POST", "/v1/chat/completions", json=chat_body("a b", stream=True)) as r:
            for _ in r.iter_lines():
                arrivals.append(time.perf_counter())
        # Four gaps at least; the event loop may run a timer up to its clock resolution
        # early, and the client reads the first line a little after it was sent.
        assert arrivals[-1] - arrivals[0] >= 0.04 * 3.5

    def test_cut_stream_is_an_incomplete_chunked_body(
        self, fake: FakeProvider, http: httpx.Client
    ) -> None:
        fake.enqueue(Behaviour(cut_after_chunks=2))
        received = []
        with (
            pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"),
            http.stream("POST", "/v1/chat/completions", json=chat_body("a b c", stream=True)) as r,
        ):
            received.extend(line for line in r.iter_lines() if line)
        assert len(received) == 2
        assert json.loads(received[1][len("data: ") :])["choices"][0]["delta"]["content"] == "Echo:"
        assert http.post("/v1/chat/completions", json=chat_body("hi")).status_code == 200

    def test_cut_stream_breaks_the_sdk_iteration(
        self, fake: FakeProvider, oai: openai.OpenAI
    ) -> None:
        fake.enqueue(Behaviour(cut_after_chunks=3))
        stream = oai.chat.completions.create(
            model="m", messages=[user("one two three four")], stream=True
        )
        received = []
        with stream, pytest.raises(openai.APIConnectionError) as broken:
            received.extend(stream)
        assert len(received) == 3
        assert "incomplete chunked read" in str(broken.value.__cause__)

    def test_cut_non_streaming_body(self, fake: FakeProvider, http: httpx.Client) -> None:
        fake.enqueue(Behaviour(cut_after_chunks=0))
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1/messages", json={"model": "c", "max_tokens": 5, "messages": [user("x")]})

    def test_drop_connection(
        self, fake: FakeProvider, http: httpx.Client, oai: openai.OpenAI
    ) -> None:
        fake.enqueue(Behaviour(drop_connection=True), Behaviour(drop_connection=True))
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            http.post("/v1/chat/completions", json=chat_body("hi"))
        with pytest.raises(openai.APIConnectionError):
            oai.chat.completions.create(model="m", messages=[user("hi")])
        assert fake.calls == 2


class TestHeaderControls:
    def test_status_and_retry_after(self, http: httpx.Client) -> None:
        response = http.post(
            "/v1/messages",
            json={"model": "c", "max_tokens": 5, "messages": [user("x")]},
            headers={"X-Fake-Status": "429", "x-fake-retry-after": "3"},
        )
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3"
        assert response.json()["error"]["type"] == "rate_limit_error"

    def test_delay_and_cut(self, http: httpx.Client) -> None:
        with pytest.raises(httpx.ReadTimeout):
            http.post(
                "/v1/chat/completions",
                json=chat_body("hi"),
                headers={"x-fake-delay-ms": "300"},
                timeout=0.05,
            )
        with (
            pytest.raises(httpx.RemoteProtocolError),
            http.stream(
                "POST",
                "/v1/chat/completions",
                json=chat_body("a b", stream=True),
                headers={"x-fake-cut-after-chunks": "1", "x-fake-chunk-delay-ms": "1"},
            ) as response,
        ):
            response.read()

    def test_drop_connection(self, http: httpx.Client) -> None:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post(
                "/v1/chat/completions",
                json=chat_body("hi"),
                headers={"x-fake-drop-connection": "1"},
            )

    def test_headers_override_the_script(self, fake: FakeProvider, http: httpx.Client) -> None:
        fake.enqueue(Behaviour(status=500))
        response = http.post(
            "/v1/chat/completions", json=chat_body("hi"), headers={"x-fake-status": "200"}
        )
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"

    def test_invalid_control_header_is_a_400(self, http: httpx.Client) -> None:
        response = http.post(
            "/v1/chat/completions", json=chat_body("hi"), headers={"x-fake-status": "soon"}
        )
        assert response.status_code == 400
        assert "x-fake-status" in response.json()["error"]["message"]


class TestRecording:
    def test_requests_are_recorded_with_headers_and_body(
        self, fake: FakeProvider, oai: openai.OpenAI, http: httpx.Client
    ) -> None:
        oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=[user("hi")],
            extra_headers={"Helicone-Property-Session": "abc"},
        )
        http.post("/v1/anything?x=1&y=2", content=b"not json")
        first, second = fake.requests
        assert first.method == "POST"
        assert first.path == "/v1/chat/completions"
        assert first.headers["authorization"] == "Bearer sk-test"
        assert first.headers["HELICONE-PROPERTY-SESSION"] == "abc"
        assert first.json == {"model": "gpt-4o-mini", "messages": [user("hi")]}
        assert json.loads(first.body) == first.json
        assert (second.query_string, second.body, second.json) == ("x=1&y=2", b"not json", None)
        assert fake.calls == 2

    def test_wait_for_calls(self, fake: FakeProvider, http: httpx.Client) -> None:
        fake.enqueue(Behaviour(delay_s=0.2))
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(http.post, "/v1/embeddings", json={"input": "x"})
            assert fake.wait_for_calls(1, timeout=5)
            assert fake.requests[0].json == {"input": "x"}
            assert pending.result(timeout=5).status_code == 200
        assert not fake.wait_for_calls(2, timeout=0.05)

    def test_reset_clears_recordings(self, fake: FakeProvider, http: httpx.Client) -> None:
        http.post("/v1/embeddings", json={"input": "x"})
        fake.enqueue(Behaviour(status=500))
        fake.reset()
        assert fake.requests == []
        assert http.post("/v1/embeddings", json={"input": "x"}).status_code == 200
        assert fake.calls == 1


def test_lifecycle_stops_fast_without_leaking_threads() -> None:
    before = set(threading.enumerate())
    fake = FakeProvider()
    with pytest.raises(RuntimeError):
        _ = fake.url
    with fake:
        assert fake.url == f"http://127.0.0.1:{fake.port}"
        fake.enqueue(Behaviour(delay_s=30))
        with httpx.Client(timeout=5) as client, ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(client.post, fake.url + "/v1/embeddings", json={"input": "x"})
            assert fake.wait_for_calls(1)
            started = time.perf_counter()
            fake.stop()
            assert time.perf_counter() - started < 2
            with pytest.raises(httpx.HTTPError):
                pending.result(timeout=5).raise_for_status()
    assert set(threading.enumerate()) <= before
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):
        client.get(f"http://127.0.0.1:{fake.port}/")


@pytest.mark.e2e
def test_cli_serves_until_sigterm() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "relayscope.testing.fake_provider", "--port", "0"]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
            assert url.startswith("http://127.0.0.1:")
            with httpx.Client(base_url=url, timeout=5) as client:
                response = client.post("/v1/chat/completions", json=chat_body("from cli"))
            assert response.json()["choices"][0]["message"]["content"] == "Echo: from cli"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)
    assert process.returncode == 0
