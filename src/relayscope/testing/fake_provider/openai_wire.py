"""OpenAI wire format: chat completions (JSON and SSE), embeddings, errors."""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import sys
from array import array
from collections.abc import Mapping
from typing import Any

import orjson

from .conversation import (
    InvalidRequest,
    Reply,
    ToolCall,
    content_text,
    count_words,
    last_index,
    mentions_weather,
    pick_tool,
    prompt_tokens,
    reply_pieces,
    requested_model,
    require_messages,
)

FINGERPRINT = "fp_fake"
DEFAULT_EMBEDDING_DIMENSIONS = 8
MAX_EMBEDDING_DIMENSIONS = 4096

_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "service_unavailable"),
}


def error_body(status: int, message: str, *, code: str | None = None) -> bytes:
    kind, default_code = _ERRORS.get(status) or (
        "server_error" if status >= 500 else "invalid_request_error",
        None,
    )
    code = code or default_code
    return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})


def plan_chat(payload: Any, *, default_model: str, tool_call: bool | None) -> Reply:
    messages = require_messages(payload)
    texts = [content_text(message.get("content")) for message in messages]
    source = last_index(messages, ("user", "tool"))
    limit = payload.get("max_completion_tokens", payload.get("max_tokens"))
    pieces, truncated = reply_pieces(texts[source] if source is not None else "", limit)
    return Reply(
        model=requested_model(payload, default_model),
        prompt_tokens=prompt_tokens(texts),
        pieces=pieces,
        truncated=truncated,
        tool_call=_tool_call(payload, messages, texts, tool_call),
    )


def _tool_call(
    payload: Mapping[str, Any],
    messages: list[Mapping[str, Any]],
    texts: list[str],
    override: bool | None,
) -> ToolCall | None:
    schemas: dict[str, Any] = {}
    for tool in payload.get("tools") or ():
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            schemas[function["name"]] = function.get("parameters")
    choice = payload.get("tool_choice")
    forced_name = None
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        forced_name = choice["function"].get("name")
    weather = bool(messages) and messages[-1].get("role") == "user" and mentions_weather(texts[-1])
    return pick_tool(
        schemas,
        override=override,
        forced=choice == "required" or forced_name is not None,
        forced_name=forced_name,
        disabled=choice == "none",
        weather=weather,
    )


def _usage(reply: Reply, cached_tokens: int) -> dict[str, Any]:
    prompt = reply.prompt_tokens + cached_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": prompt + reply.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _finish_reason(reply: Reply) -> str:
    if reply.tool_call is not None:
        return "tool_calls"
    return "length" if reply.truncated else "stop"


def _tool_call_json(call: ToolCall, ident: int) -> dict[str, Any]:
    return {
        "id": f"call_fake{ident:010d}",
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json},
    }


def _envelope(reply: Reply, ident: int, created: int, kind: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake{ident:010d}",
        "object": kind,
        "created": created,
        "model": reply.model,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def chat_completion_body(reply: Reply, *, ident: int, created: int, cached_tokens: int) -> bytes:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text,
        "refusal": None,
        "annotations": [],
    }
    if reply.tool_call is not None:
        message["content"] = None
        message["tool_calls"] = [_tool_call_json(reply.tool_call, ident)]
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": _finish_reason(reply),
    }
    body = _envelope(reply, ident, created, "chat.completion")
    body["choices"] = [choice]
    body["usage"] = _usage(reply, cached_tokens)
    return orjson.dumps(body)


def _sse(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _deltas(reply: Reply, ident: int) -> list[dict[str, Any]]:
    if reply.tool_call is None:
        first: dict[str, Any] = {"role": "assistant", "content": "", "refusal": None}
        return [first, *({"content": piece} for piece in reply.pieces)]
    opening = _tool_call_json(reply.tool_call, ident)
    opening["index"] = 0
    opening["function"] = {"name": reply.tool_call.name, "arguments": ""}
    first = {"role": "assistant", "content": None, "tool_calls": [opening], "refusal": None}
    rest = (
        {"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}
        for fragment in reply.tool_call.fragments()
    )
    return [first, *rest]


def chat_completion_events(
    reply: Reply, *, ident: int, created: int, cached_tokens: int, include_usage: bool
) -> list[bytes]:
    """SSE events exactly as OpenAI streams them, ending with ``data: [DONE]``."""
    base = _envelope(reply, ident, created, "chat.completion.chunk")
    if include_usage:
        base["usage"] = None

    def chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**base, "choices": [choice]})

    events = [chunk(delta, None) for delta in _deltas(reply, ident)]
    events.append(chunk({}, _finish_reason(reply)))
    if include_usage:
        events.append(_sse({**base, "choices": [], "usage": _usage(reply, cached_tokens)}))
    events.append(b"data: [DONE]\n\n")
    return events


def embedding_vector(
    seed: str | bytes, dimensions: int = DEFAULT_EMBEDDING_DIMENSIONS
) -> list[float]:
    """The unit-length vector the fake returns for ``seed`` (text, or orjson token-array bytes)."""
    return _vector(seed.encode() if isinstance(seed, str) else seed, dimensions).tolist()


def _vector(seed: bytes, dimensions: int) -> array[float]:
    blocks = math.ceil(dimensions * 4 / 32)
    raw = b"".join(hashlib.sha256(seed + i.to_bytes(4, "little")).digest() for i in range(blocks))
    values = [n / 2**31 - 1.0 for n in struct.unpack(f"<{dimensions}I", raw[: dimensions * 4])]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return array("f", (v / norm for v in values))


def _embedding_inputs(value: Any) -> list[tuple[bytes, int]]:
    if isinstance(value, str):
        return [(value.encode(), count_words(value))]
    if isinstance(value, list) and value:
        if all(isinstance(item, int) for item in value):
            return [(orjson.dumps(value), len(value))]
        if all(isinstance(item, str | list) for item in value):
            return [entry for item in value for entry in _single_input(item)]
    raise InvalidRequest("'input' must be a string, a list of strings or token arrays")


def _single_input(item: str | list[Any]) -> list[tuple[bytes, int]]:
    if isinstance(item, list) and not (item and all(isinstance(t, int) for t in item)):
        raise InvalidRequest("token arrays in 'input' must be non-empty lists of integers")
    return _embedding_inputs(item)


def _encode(vector: array[float], as_base64: bool) -> str | list[float]:
    if not as_base64:
        return vector.tolist()
    if sys.byteorder == "big":
        vector = array("f", vector)
        vector.byteswap()
    return base64.b64encode(vector.tobytes()).decode()


def embeddings_body(payload: Any, *, default_model: str) -> bytes:
    if not isinstance(payload, Mapping) or "input" not in payload:
        raise InvalidRequest("'input' is required")
    dimensions = payload.get("dimensions", DEFAULT_EMBEDDING_DIMENSIONS)
    if not isinstance(dimensions, int) or not 1 <= dimensions <= MAX_EMBEDDING_DIMENSIONS:
        raise InvalidRequest(f"'dimensions' must be an integer in 1..{MAX_EMBEDDING_DIMENSIONS}")
    as_base64 = payload.get("encoding_format") == "base64"
    inputs = _embedding_inputs(payload["input"])
    data = [
        {
            "object": "embedding",
            "index": index,
            "embedding": _encode(_vector(seed, dimensions), as_base64),
        }
        for index, (seed, _) in enumerate(inputs)
    ]
    tokens = sum(count for _, count in inputs)
    return orjson.dumps(
        {
            "object": "list",
            "data": data,
            "model": requested_model(payload, default_model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
