"""OpenAI's chat completions format (and every OpenAI-compatible provider)."""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.providers.formats import fields
from relayscope.providers.formats.sse import iter_events


def read_usage(data: dict[str, Any], parsed: Any) -> None:
    notes = parsed.notes
    parsed.model = fields.model_name(data.get("model"), notes) or parsed.model
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return
    prompt_key = "prompt_tokens" if "prompt_tokens" in usage else "input_tokens"
    output_key = "completion_tokens" if "completion_tokens" in usage else "output_tokens"
    parsed.prompt_tokens = fields.token_count(usage.get(prompt_key), f"usage.{prompt_key}", notes)
    parsed.completion_tokens = fields.token_count(
        usage.get(output_key), f"usage.{output_key}", notes
    )
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details")
    if isinstance(details, dict) and details.get("cached_tokens") is not None:
        name = "usage.prompt_tokens_details.cached_tokens"
        cached = fields.token_count(details["cached_tokens"], name, notes)
        prompt = parsed.prompt_tokens
        if cached is not None and prompt is not None and cached > prompt:
            notes.add(f"{name} {cached} is more than the {prompt} input tokens; dropped")
            cached = None
        parsed.cache_read_tokens = cached
    output = usage.get("completion_tokens_details") or usage.get("output_tokens_details")
    if isinstance(output, dict) and output.get("reasoning_tokens") is not None:
        name = f"usage.{output_key}_details.reasoning_tokens"
        parsed.reasoning_tokens = fields.token_count(output["reasoning_tokens"], name, notes)


def is_usage_only_chunk(data: dict[str, Any]) -> bool:
    return not data.get("choices") and data.get("usage") is not None


def assemble_stream(raw: bytes, parsed_cls: type) -> Any:
    """Rebuild the ``chat.completion`` object a non-streaming call would have returned
    (a ``text_completion`` for the legacy ``/completions`` route, whose chunks carry
    ``choices[].text`` instead of a delta)."""
    parsed = parsed_cls()
    kind = "chat.completion"
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
        listed = chunk.get("choices")
        for choice in listed if isinstance(listed, list) else ():
            index = fields.index(choice.get("index", 0)) if isinstance(choice, dict) else None
            if index is None:
                continue
            text = fields.text(choice.get("text"))
            if text is not None and "delta" not in choice:
                kind = "text_completion"
                slot = choices.setdefault(
                    index, {"index": index, "text": "", "finish_reason": None}
                )
                slot["text"] = (fields.text(slot.get("text")) or "") + text
                if fields.text(choice.get("finish_reason")):
                    slot["finish_reason"] = choice["finish_reason"]
                continue
            slot = choices.setdefault(
                index,
                {"index": index, "message": dict(message), "finish_reason": None},
            )
            delta = choice.get("delta")
            _merge_delta(slot["message"], delta if isinstance(delta, dict) else {})
            if fields.text(choice.get("finish_reason")):
                slot["finish_reason"] = choice["finish_reason"]
    body = {**head, "object": kind}
    body["choices"] = [choices[i] for i in sorted(choices)]
    if parsed.prompt_tokens is not None:
        body["usage"] = {
            "prompt_tokens": parsed.prompt_tokens,
            "completion_tokens": parsed.completion_tokens,
            "total_tokens": parsed.total_tokens,
        }
        if parsed.cache_read_tokens is not None:
            body["usage"]["prompt_tokens_details"] = {"cached_tokens": parsed.cache_read_tokens}
        if parsed.reasoning_tokens is not None:
            body["usage"]["completion_tokens_details"] = {
                "reasoning_tokens": parsed.reasoning_tokens
            }
    parsed.body = body
    return parsed


def _merge_delta(message: dict[str, Any], delta: dict[str, Any]) -> None:
    if fields.text(delta.get("role")):
        message["role"] = delta["role"]
    if fields.text(delta.get("content")) is not None:
        message["content"] = (message.get("content") or "") + delta["content"]
    if fields.text(delta.get("refusal")) is not None:
        message["refusal"] = (message.get("refusal") or "") + delta["refusal"]
    calls_delta = delta.get("tool_calls")
    for call in calls_delta if isinstance(calls_delta, list) else ():
        if not isinstance(call, dict):
            continue
        calls = message.setdefault("tool_calls", [])
        index = fields.index(call.get("index", len(calls)))
        if index is None:
            continue
        while len(calls) <= index:
            calls.append(
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
            )
        target = calls[index]
        if fields.text(call.get("id")):
            target["id"] = call["id"]
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        if fields.text(function.get("name")):
            target["function"]["name"] += function["name"]
        if fields.text(function.get("arguments")):
            target["function"]["arguments"] += function["arguments"]
