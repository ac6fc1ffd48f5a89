"""Request translation, OpenAI chat completions ⇄ Anthropic messages."""

from __future__ import annotations

import pytest

from relayscope.providers.translate import (
    TranslationError,
    anthropic_to_openai_request,
    openai_to_anthropic_request,
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def to_anthropic(body: dict, **kwargs) -> dict:
    return openai_to_anthropic_request(body, model="claude-x", default_max_tokens=1024, **kwargs)


def test_openai_conversation_with_tools_becomes_anthropic_messages():
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": [{"type": "text", "text": "use metric"}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is here?"},
                    {"type": "image_url", "image_url": {"url": "https://x.example/cat.png"}},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                    },
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "cold"},
            {"role": "tool", "tool_call_id": "call_2", "content": "warm"},
            {"role": "user", "content": "thanks"},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "max_completion_tokens": 77,
        "temperature": 1.6,
        "top_p": 0.9,
        "stop": "END",
        "stream": True,
        "stream_options": {"include_usage": True},
        "user": "u-1",
    }
    out = to_anthropic(body)
    assert out["model"] == "claude-x"
    assert out["system"] == "be brief\n\nuse metric"
    assert out["max_tokens"] == 77
    assert out["temperature"] == 1.0, "Anthropic's range ends at 1"
    assert out["top_p"] == 0.9
    assert out["stop_sequences"] == ["END"]
    assert out["stream"] is True
    assert out["metadata"] == {"user_id": "u-1"}
    assert out["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather in a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert out["tool_choice"] == {
        "type": "tool",
        "name": "get_weather",
        "disable_parallel_tool_use": True,
    }
    user, assistant, results = out["messages"]
    assert user["role"] == "user"
    assert user["content"][1] == {
        "type": "image",
        "source": {"type": "url", "url": "https://x.example/cat.png"},
    }
    assert user["content"][2]["source"] == {
        "type": "base64",
        "media_type": "image/png",
        "data": "iVBO",
    }
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}},
            {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    }
    # Both tool results and the next user text share one user turn, results first.
    assert results["role"] == "user"
    assert results["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "cold"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "warm"},
        {"type": "text", "text": "thanks"},
    ]


def test_anthropic_needs_max_tokens_so_the_default_is_sent():
    out = to_anthropic({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert out["max_tokens"] == 1024
    assert "system" not in out and "tools" not in out


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [{"role": "user", "content": "hi"}], "n": 2},
        {"messages": [{"role": "user", "content": [{"type": "input_audio"}]}]},
        {"messages": [{"role": "user", "content": "hi"}], "audio": {}},
        {"messages": "hi"},
    ],
)
def test_what_anthropic_cannot_express_is_refused(body):
    with pytest.raises(TranslationError):
        to_anthropic(body)


def test_anthropic_conversation_with_tools_becomes_openai_messages():
    body = {
        "model": "claude-3-5-sonnet",
        "system": [{"type": "text", "text": "be brief"}],
        "max_tokens": 50,
        "temperature": 0.2,
        "top_k": 5,
        "stop_sequences": ["END", "STOP"],
        "stream": True,
        "metadata": {"user_id": "u-2"},
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather in a city",
                "input_schema": {"type": "object", "properties": {}},
            }
        ],
        "tool_choice": {"type": "any"},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image", "source": {"type": "url", "url": "https://x.example/a.png"}},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "s"},
                    {"type": "text", "text": "checking"},
                    {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"c": 1}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "tu_1", "content": "sunny"},
                    {"type": "text", "text": "and tomorrow?"},
                ],
            },
        ],
    }
    out = anthropic_to_openai_request(body, model="gpt-4o-mini", stream_usage=True)
    assert out["model"] == "gpt-4o-mini"
    assert out["max_tokens"] == 50
    assert out["temperature"] == 0.2 and "top_k" not in out
    assert out["stop"] == ["END", "STOP"]
    assert out["stream"] is True and out["stream_options"] == {"include_usage": True}
    assert out["user"] == "u-2"
    assert out["tool_choice"] == "required"
    assert out["tools"][0]["function"]["name"] == "get_weather"
    system, user, assistant, tool, follow_up = out["messages"]
    assert system == {"role": "system", "content": "be brief"}
    assert user["content"][1] == {
        "type": "image_url",
        "image_url": {"url": "https://x.example/a.png"},
    }
    assert user["content"][2]["image_url"]["url"] == "data:image/jpeg;base64,AAAA"
    assert assistant["content"] == "checking"
    assert assistant["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": '{"c":1}'}
    assert tool == {"role": "tool", "tool_call_id": "tu_1", "content": "sunny"}
    assert follow_up == {"role": "user", "content": [{"type": "text", "text": "and tomorrow?"}]}


def test_streams_ask_openai_for_usage_only_where_the_provider_supports_it():
    body = {"model": "c", "max_tokens": 5, "stream": True, "messages": []}
    assert "stream_options" not in anthropic_to_openai_request(body, model="m", stream_usage=False)


def test_server_tools_cannot_be_translated():
    body = {
        "model": "c",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search"}],
    }
    with pytest.raises(TranslationError):
        anthropic_to_openai_request(body, model="m", stream_usage=True)
