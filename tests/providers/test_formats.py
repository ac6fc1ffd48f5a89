from __future__ import annotations

import orjson

from relayscope.providers.formats import parse_response


def sse(*events: dict, done: bool = True) -> bytes:
    out = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events)
    return out + (b"data: [DONE]\n\n" if done else b"")


def test_openai_stream_assembles_text_tool_calls_and_usage():
    raw = sse(
        {"id": "c", "model": "gpt-4o", "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"id": "c", "choices": [{"index": 0, "delta": {"content": "lo"}}]},
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": "t1",
                                "function": {"name": "get", "arguments": '{"a"'},
                            }
                        ]
                    },
                }
            ],
        },
        {
            "id": "c",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]},
                    "finish_reason": "tool_calls",
                }
            ],
        },
        {
            "id": "c",
            "choices": [],
            "usage": {
                "prompt_tokens": 7,
                "completion_tokens": 3,
                "prompt_tokens_details": {"cached_tokens": 2},
            },
        },
    )
    parsed = parse_response("openai", raw, stream=True)
    message = parsed.body["choices"][0]["message"]
    assert message["content"] == "Hello"
    assert message["tool_calls"][0]["function"] == {"name": "get", "arguments": '{"a": 1}'}
    assert parsed.body["choices"][0]["finish_reason"] == "tool_calls"
    assert (parsed.prompt_tokens, parsed.completion_tokens, parsed.cache_read_tokens) == (7, 3, 2)
    assert parsed.model == "gpt-4o"


def test_anthropic_stream_assembles_blocks_and_usage():
    def ev(kind: str, **data) -> bytes:
        return (
            f"event: {kind}\n".encode() + b"data: " + orjson.dumps({"type": kind, **data}) + b"\n\n"
        )

    raw = b"".join(
        [
            ev(
                "message_start",
                message={
                    "id": "m",
                    "model": "claude-x",
                    "role": "assistant",
                    "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4},
                },
            ),
            ev("content_block_start", index=0, content_block={"type": "text", "text": ""}),
            ev("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hi "}),
            ev("content_block_delta", index=0, delta={"type": "text_delta", "text": "there"}),
            ev("content_block_stop", index=0),
            ev(
                "content_block_start",
                index=1,
                content_block={"type": "tool_use", "id": "tu", "name": "w", "input": {}},
            ),
            ev(
                "content_block_delta",
                index=1,
                delta={"type": "input_json_delta", "partial_json": '{"c"'},
            ),
            ev(
                "content_block_delta",
                index=1,
                delta={"type": "input_json_delta", "partial_json": ':"x"}'},
            ),
            ev("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 9}),
            ev("message_stop"),
        ]
    )
    parsed = parse_response("anthropic", raw, stream=True)
    assert parsed.body["content"][0]["text"] == "Hi there"
    assert parsed.body["content"][1]["input"] == {"c": "x"}
    assert parsed.body["stop_reason"] == "tool_use"
    assert (parsed.prompt_tokens, parsed.completion_tokens, parsed.cache_read_tokens) == (14, 9, 4)


def test_garbage_never_raises():
    assert parse_response("openai", b"\xff\x00 not json", stream=False).prompt_tokens is None
    assert parse_response("anthropic", b"data: {broken\n\n", stream=True).body is not None
    assert parse_response("openai", b"", stream=False).body is None


def named(*events: dict) -> bytes:
    return b"".join(
        b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e) + b"\n\n" for e in events
    )


def test_a_cut_responses_stream_is_rebuilt_from_its_items_and_deltas():
    raw = named(
        {"type": "response.created", "response": {"id": "r", "model": "gpt-4o", "output": []}},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": "fc", "type": "function_call", "name": "f", "arguments": ""},
        },
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": '{"a"'},
        {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": ": 1}"},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"id": "m", "type": "message", "content": []},
        },
        {
            "type": "response.output_text.delta",
            "output_index": 1,
            "content_index": 0,
            "delta": "Hi",
        },
    )
    parsed = parse_response("responses", raw, stream=True)
    assert parsed.body["id"] == "r"
    assert parsed.body["output"][0]["arguments"] == '{"a": 1}'
    assert parsed.body["output"][1]["content"] == [{"type": "output_text", "text": "Hi"}]
    assert parsed.prompt_tokens is None and parsed.model == "gpt-4o"


def test_a_completed_responses_stream_is_its_final_response_with_usage():
    final = {
        "id": "r",
        "model": "o3",
        "output": [],
        "usage": {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 4},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 5},
        },
    }
    raw = named(
        {"type": "response.created", "response": {"id": "r", "output": []}},
        {"type": "response.completed", "response": final},
    )
    parsed = parse_response("responses", raw, stream=True)
    assert parsed.body == final
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (10, 7)
    assert (parsed.cache_read_tokens, parsed.reasoning_tokens) == (4, 5)


def test_gemini_usage_counts_thoughts_as_output_and_reasoning():
    body = {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}}],
        "usageMetadata": {
            "promptTokenCount": 9,
            "candidatesTokenCount": 3,
            "thoughtsTokenCount": 20,
            "cachedContentTokenCount": 4,
        },
        "modelVersion": "gemini-2.5-flash",
    }
    parsed = parse_response("gemini", orjson.dumps(body), stream=False)
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (9, 23)
    assert (parsed.reasoning_tokens, parsed.cache_read_tokens) == (20, 4)
    assert parsed.model == "gemini-2.5-flash"


def test_retrievals_are_plain_and_never_billed_again():
    from relayscope.providers.formats import PLAIN, body_format

    url = "https://api.openai.com/v1/responses"
    assert body_format("openai", "POST", url) == "responses"
    assert body_format("openai", "GET", url + "/resp_1") == PLAIN
    assert body_format("openai", "POST", "https://g/v1beta/models/m:generateContent") == "gemini"
    body = orjson.dumps({"usage": {"input_tokens": 5, "output_tokens": 2}, "model": "gpt-4o"})
    assert parse_response(PLAIN, body, stream=False).prompt_tokens is None


def test_a_legacy_completions_stream_is_a_text_completion():
    raw = sse(
        {"id": "c", "model": "gpt-3.5-turbo-instruct", "choices": [{"index": 0, "text": "Hel"}]},
        {"id": "c", "choices": [{"index": 0, "text": "lo", "finish_reason": "stop"}]},
        {"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
    )
    parsed = parse_response("openai", raw, stream=True)
    assert parsed.body["object"] == "text_completion"
    assert parsed.body["choices"] == [{"index": 0, "text": "Hello", "finish_reason": "stop"}]
    assert (parsed.prompt_tokens, parsed.completion_tokens) == (3, 2)
