"""Large provider responses of a chosen size, for tests of the gateway's bounds.

Each is what the provider would send, ending with the usage the log must still find.
"""

from __future__ import annotations

from typing import Any

import orjson

MODEL = "gpt-4o-mini"
CLAUDE = "claude-3-5-sonnet-20241022"


def sse(data: dict[str, Any], event: str | None = None) -> bytes:
    named = b"event: " + event.encode() + b"\n" if event else b""
    return named + b"data: " + orjson.dumps(data) + b"\n\n"


def openai_stream(size: int, prompt_tokens: int = 7) -> tuple[bytes, int]:
    """An OpenAI chat stream of about ``size`` bytes in ~130-byte events, the usage chunk
    last; and the completion tokens it reports (one per content event)."""
    head = {"id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1, "model": MODEL}
    delta = sse({**head, "choices": [{"index": 0, "delta": {"content": "tok "}}]})
    count = max(1, size // len(delta))
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": count, "total_tokens": 0}
    ending = sse({**head, "choices": [], "usage": usage}) + b"data: [DONE]\n\n"
    return delta * count + ending, count


def anthropic_stream(size: int, input_tokens: int = 11) -> tuple[bytes, int]:
    """An Anthropic message stream of about ``size`` bytes: ``message_start`` (input
    tokens) first, ``message_delta`` (output tokens) last; and the output tokens."""
    usage = {"input_tokens": input_tokens, "output_tokens": 1}
    message = {"id": "msg_big", "type": "message", "role": "assistant", "model": CLAUDE,
               "content": [], "usage": usage}  # fmt: skip
    start = sse({"type": "message_start", "message": message}, "message_start")
    text = {"type": "text", "text": ""}
    block = sse({"type": "content_block_start", "index": 0, "content_block": text},
                "content_block_start")  # fmt: skip
    piece = {"type": "text_delta", "text": "tok "}
    delta = sse({"type": "content_block_delta", "index": 0, "delta": piece}, "content_block_delta")
    count = max(1, size // len(delta))
    finished = {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": count}}  # fmt: skip
    ending = (
        sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        + sse(finished, "message_delta")
        + sse({"type": "message_stop"}, "message_stop")
    )
    return start + block + delta * count + ending, count


def completion_body(size: int) -> bytes:
    """A non-streamed chat completion of about ``size`` bytes."""
    body = {
        "id": "chatcmpl-big",
        "object": "chat.completion",
        "created": 1,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "word " * (size // 5)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": size // 5, "total_tokens": 0},
    }
    return orjson.dumps(body)
