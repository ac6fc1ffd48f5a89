"""What the log and the cost limits read from a captured body, however long it was."""

from __future__ import annotations

import orjson

from relayscope.capture import TAIL, BodyCapture, parse_captured, parse_usage


def event(payload: dict) -> bytes:
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def long_response_stream(words: int) -> bytes:
    text = "word " * words
    usage = {
        "input_tokens": 11,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": words,
        "output_tokens_details": {"reasoning_tokens": 3},
    }
    final = {
        "id": "r",
        "model": "gpt-4o",
        "output": [{"type": "message", "content": [{"type": "output_text", "text": text}]}],
        "usage": usage,
        "metadata": {},
    }
    deltas = [
        event({"type": "response.output_text.delta", "output_index": 0, "delta": "word "})
        for _ in range(words)
    ]
    opening = {"type": "response.created", "response": {"id": "r", "model": "gpt-4o"}}
    return b"".join(
        [event(opening), *deltas, event({"type": "response.completed", "response": final})]
    )


def captured(raw: bytes, limit: int) -> BodyCapture:
    capture = BodyCapture(limit)
    for start in range(0, len(raw), 4096):
        capture.add(raw[start : start + 4096])
    return capture


def test_the_usage_of_a_responses_stream_longer_than_what_is_kept_of_its_end():
    raw = long_response_stream(words=40_000)  # the final event alone is over 200 KB
    assert len(raw) > 4 * TAIL
    for parsed in (
        parse_usage("responses", captured(raw, 10 * 1024 * 1024), stream=True),
        parse_captured("responses", captured(raw, 256 * 1024), stream=True),
    ):
        assert (parsed.prompt_tokens, parsed.completion_tokens) == (11, 40_000)
        assert parsed.reasoning_tokens == 3
        assert parsed.model == "gpt-4o"
