"""Whole response bodies (answers and errors): OpenAI chat completions ⇄ Anthropic messages."""

from __future__ import annotations

import time
from typing import Any

import orjson

from relayscope.providers.registry import Format

FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def translate_body(raw: bytes, status: int, *, served: Format, client: Format) -> bytes:
    """``raw`` from the ``served`` format into the ``client`` format; unreadable bodies pass."""
    if served == client:
        return raw
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    if not isinstance(data, dict):
        return raw
    if status >= 400:
        return orjson.dumps(_error(data, status, client))
    if client == "openai":
        return orjson.dumps(anthropic_to_openai_completion(data))
    return orjson.dumps(openai_to_anthropic_message(data))


def openai_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage as OpenAI reports it: prompt tokens include the cached ones."""
    cache_read = usage.get("cache_read_input_tokens") or 0
    cache_write = usage.get("cache_creation_input_tokens") or 0
    prompt = (usage.get("input_tokens") or 0) + cache_read + cache_write
    completion = usage.get("output_tokens") or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cache_read},
    }


def anthropic_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """OpenAI usage as Anthropic reports it: input tokens exclude the cached ones."""
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") or 0
    return {
        "input_tokens": max(0, (usage.get("prompt_tokens") or 0) - cached),
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    }


def anthropic_to_openai_completion(message: dict[str, Any]) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        reply["tool_calls"] = calls
    body: dict[str, Any] = {
        "id": message.get("id", ""),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": message.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                "finish_reason": FINISH_REASONS.get(message.get("stop_reason") or "", "stop"),
            }
        ],
    }
    if isinstance(message.get("usage"), dict):
        body["usage"] = openai_usage(message["usage"])
    return body


def openai_to_anthropic_message(completion: dict[str, Any]) -> dict[str, Any]:
    choices = completion.get("choices") or [{}]
    choice = choices[0]
    reply = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if reply.get("content"):
        content.append({"type": "text", "text": reply["content"]})
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        try:
            arguments = orjson.loads(function.get("arguments") or "{}")
        except orjson.JSONDecodeError:
            arguments = {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id", ""),
                "name": function.get("name", ""),
                "input": arguments if isinstance(arguments, dict) else {},
            }
        )
    return {
        "id": completion.get("id", ""),
        "type": "message",
        "role": "assistant",
        "model": completion.get("model", ""),
        "content": content,
        "stop_reason": STOP_REASONS.get(choice.get("finish_reason") or "", "end_turn"),
        "stop_sequence": None,
        "usage": anthropic_usage(completion.get("usage") or {}),
    }


def _error(data: dict[str, Any], status: int, client: Format) -> dict[str, Any]:
    error = data.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    message = message if isinstance(message, str) else f"provider answered HTTP {status}"
    if client == "openai":
        kind = error.get("type") if isinstance(error, dict) else None
        return {
            "error": {"message": message, "type": kind or "api_error", "param": None, "code": None}
        }
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}
