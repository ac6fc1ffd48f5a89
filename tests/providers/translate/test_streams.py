"""Response translation, whole and streamed, checked against the fake provider's wire output.

A translated stream, reassembled, must equal the translated whole response: that
is what a client reading either one would get.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from relayscope.providers.formats import parse_response
from relayscope.providers.translate import translate_body, translate_stream
from relayscope.testing.fake_provider import anthropic_wire, openai_wire

TOOLS_OPENAI = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
TOOLS_ANTHROPIC = [
    {
        "name": "get_weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


def anthropic_reply(tool: bool):
    payload = {
        "model": "claude-x",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": "weather in Oslo please"}],
        **({"tools": TOOLS_ANTHROPIC} if tool else {}),
    }
    return anthropic_wire.plan_messages(payload, default_model="m", tool_call=tool or None)


def openai_reply(tool: bool):
    payload = {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "weather in Oslo please"}],
        **({"tools": TOOLS_OPENAI} if tool else {}),
    }
    return openai_wire.plan_chat(payload, default_model="m", tool_call=tool or None)


@pytest.mark.parametrize("tool", [False, True])
@pytest.mark.parametrize("size", [7, 4096])
async def test_anthropic_stream_reads_as_the_openai_completion(tool, size):
    reply = anthropic_reply(tool)
    common = {"ident": 1, "cached_tokens": 3, "cache_creation_tokens": 2}
    whole = translate_body(
        anthropic_wire.message_body(reply, **common), 200, served="anthropic", client="openai"
    )
    events = b"".join(anthropic_wire.message_events(reply, **common))
    streamed = await collect(
        translate_stream(
            pieces(events, size), served="anthropic", client="openai", include_usage=True
        )
    )
    assert streamed.endswith(b"data: [DONE]\n\n")
    expected = orjson.loads(whole)
    assembled = parse_response("openai", streamed, stream=True)
    choice = dict(expected["choices"][0])
    choice.pop("logprobs")
    assert assembled.body["choices"] == [choice]
    assert assembled.prompt_tokens == expected["usage"]["prompt_tokens"] == reply.prompt_tokens + 5
    assert assembled.completion_tokens == expected["usage"]["completion_tokens"]
    assert assembled.cache_read_tokens == 3
    assert assembled.model == "claude-x"


async def test_anthropic_stream_without_usage_request_has_no_usage_chunk():
    events = b"".join(
        anthropic_wire.message_events(
            anthropic_reply(False), ident=1, cached_tokens=0, cache_creation_tokens=0
        )
    )
    streamed = await collect(
        translate_stream(
            pieces(events, 64), served="anthropic", client="openai", include_usage=False
        )
    )
    chunks = [
        orjson.loads(line[6:]) for line in streamed.split(b"\n\n") if line.startswith(b"data: {")
    ]
    assert chunks and all(chunk["choices"] for chunk in chunks)


@pytest.mark.parametrize("tool", [False, True])
@pytest.mark.parametrize("size", [5, 4096])
async def test_openai_stream_reads_as_the_anthropic_message(tool, size):
    reply = openai_reply(tool)
    whole = translate_body(
        openai_wire.chat_completion_body(reply, ident=1, created=1, cached_tokens=4),
        200,
        served="openai",
        client="anthropic",
    )
    events = b"".join(
        openai_wire.chat_completion_events(
            reply, ident=1, created=1, cached_tokens=4, include_usage=True
        )
    )
    streamed = await collect(
        translate_stream(
            pieces(events, size), served="openai", client="anthropic", include_usage=False
        )
    )
    expected = orjson.loads(whole)
    assembled = parse_response("anthropic", streamed, stream=True)
    assert assembled.body["content"] == expected["content"]
    assert assembled.body["stop_reason"] == expected["stop_reason"]
    assert (
        assembled.completion_tokens == expected["usage"]["output_tokens"] == reply.completion_tokens
    )
    assert assembled.prompt_tokens == reply.prompt_tokens + 4
    assert assembled.cache_read_tokens == 4
    assert expected["usage"]["input_tokens"] == reply.prompt_tokens


def test_whole_answers_keep_tool_calls_and_finish_reasons():
    reply = anthropic_reply(True)
    body = anthropic_wire.message_body(reply, ident=1, cached_tokens=0, cache_creation_tokens=0)
    completion = orjson.loads(translate_body(body, 200, served="anthropic", client="openai"))
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather"
    assert orjson.loads(call["function"]["arguments"]) == reply.tool_call.arguments
    back = orjson.loads(
        translate_body(orjson.dumps(completion), 200, served="openai", client="anthropic")
    )
    assert back["stop_reason"] == "tool_use"
    assert back["content"] == [
        {
            "type": "tool_use",
            "id": call["id"],
            "name": "get_weather",
            "input": reply.tool_call.arguments,
        }
    ]


def test_errors_take_the_clients_error_shape():
    anthropic_error = anthropic_wire.error_body(529, "overloaded")
    openai_error = orjson.loads(
        translate_body(anthropic_error, 529, served="anthropic", client="openai")
    )
    assert openai_error["error"]["message"] == "overloaded"
    back = orjson.loads(
        translate_body(
            openai_wire.error_body(429, "slow down"), 429, served="openai", client="anthropic"
        )
    )
    assert back == {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    assert translate_body(b"not json", 502, served="openai", client="anthropic") == b"not json"
