"""OpenAI's chat completions format (and every OpenAI-compatible provider)."""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.providers.formats.sse import iter_events


def read_usage(data: dict[str, Any], parsed: Any) -> None:
    parsed.model = data.get("model") or parsed.model
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return
    parsed.prompt_tokens = usage.get("prompt_tokens", usage.get("input_tokens"))
    parsed.completion_tokens = usage.get("completion_tokens", usage.get("output_tokens"))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        parsed.cache_read_tokens = details["cached_tokens"]


def is_usage_only_chunk(data: dict[str, Any]) -> bool:
    return not data.get("choices") and data.get("usage") is not None


def assemble_stream(raw: bytes, parsed_cls: type) -> Any:
    """Rebuild the ``chat.completion`` object a non-streaming call would have returned."""
    parsed = parsed_cls()
    message: dict[str, Any] = {"role": "assistant", "content": None}
    choices: dict[int, dict[str, Any]] = {}
    head: dict[str, Any] = {}
    for _event, data in iter_events(raw):
        if data.strip() == "[DONE]":
            continue
        chunk = orjson.loads(data)
        if not isinstance(chunk, dict):
            continue
        if not head and chunk.get("id"):
            head = {k: chunk.get(k) for k in ("id", "created", "model", "system_fingerprint")}
        read_usage(chunk, parsed)
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            slot = choices.setdefault(
                index,
                {"index": index, "message": dict(message), "finish_reason": None},
            )
            _merge_delta(slot["message"], choice.get("delta") or {})
            if choice.get("finish_reason"):
                slot["finish_reason"] = choice["finish_reason"]
    body = {**head, "object": "chat.completion"}
    body["choices"] = [choices[i] for i in sorted(choices)]
    if parsed.prompt_tokens is not None:
        body["usage"] = {
            "prompt_tokens": parsed.prompt_tokens,
            "completion_tokens": parsed.completion_tokens,
            "total_tokens": parsed.total_tokens,
        }
    parsed.body = body
    return parsed


def _merge_delta(message: dict[str, Any], delta: dict[str, Any]) -> None:
    if delta.get("role"):
        message["role"] = delta["role"]
    if delta.get("content") is not None:
        message["content"] = (message.get("content") or "") + delta["content"]
    if delta.get("refusal") is not None:
        message["refusal"] = (message.get("refusal") or "") + delta["refusal"]
    for call in delta.get("tool_calls") or []:
        calls = message.setdefault("tool_calls", [])
        index = call.get("index", len(calls))
        while len(calls) <= index:
            calls.append(
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
        target = calls[index]
        if call.get("id"):
            target["id"] = call["id"]
        function = call.get("function") or {}
        if function.get("name"):
            target["function"]["name"] += function["name"]
        if function.get("arguments"):
            target["function"]["arguments"] += function["arguments"]
