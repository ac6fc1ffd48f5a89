"""Anthropic's messages format."""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.providers.formats.sse import iter_events


def read_usage(data: dict[str, Any], parsed: Any) -> None:
    parsed.model = data.get("model") or parsed.model
    usage = data.get("usage")
    if isinstance(usage, dict):
        _apply_usage(usage, parsed)


def _apply_usage(usage: dict[str, Any], parsed: Any) -> None:
    if usage.get("cache_read_input_tokens") is not None:
        parsed.cache_read_tokens = usage["cache_read_input_tokens"]
    if usage.get("cache_creation_input_tokens") is not None:
        parsed.cache_write_tokens = usage["cache_creation_input_tokens"]
    if usage.get("input_tokens") is not None:
        parsed.extra["input_tokens"] = usage["input_tokens"]
    if usage.get("output_tokens") is not None:
        parsed.completion_tokens = usage["output_tokens"]
    if "input_tokens" in parsed.extra:
        parsed.prompt_tokens = (
            parsed.extra["input_tokens"]
            + (parsed.cache_read_tokens or 0)
            + (parsed.cache_write_tokens or 0)
        )


def assemble_stream(raw: bytes, parsed_cls: type) -> Any:
    """Rebuild the ``message`` object a non-streaming call would have returned."""
    parsed = parsed_cls()
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, str] = {}
    for event, data in iter_events(raw):
        payload = orjson.loads(data)
        kind = payload.get("type", event)
        if kind == "message_start":
            message = dict(payload.get("message") or {})
            read_usage(message, parsed)
        elif kind == "content_block_start":
            blocks[payload["index"]] = dict(payload.get("content_block") or {})
        elif kind == "content_block_delta":
            block = blocks.setdefault(payload["index"], {"type": "text", "text": ""})
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif delta.get("type") == "input_json_delta":
                partial_json[payload["index"]] = partial_json.get(payload["index"], "") + delta.get(
                    "partial_json", ""
                )
            elif delta.get("type") == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
        elif kind == "message_delta":
            message.update(payload.get("delta") or {})
            if isinstance(payload.get("usage"), dict):
                _apply_usage(payload["usage"], parsed)
    for index, text in partial_json.items():
        try:
            blocks[index]["input"] = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError:
            blocks[index]["input"] = text
    message["content"] = [blocks[i] for i in sorted(blocks)]
    if parsed.completion_tokens is not None or "input_tokens" in parsed.extra:
        message["usage"] = {
            "input_tokens": parsed.extra.get("input_tokens"),
            "output_tokens": parsed.completion_tokens,
            "cache_read_input_tokens": parsed.cache_read_tokens,
            "cache_creation_input_tokens": parsed.cache_write_tokens,
        }
    parsed.body = message
    return parsed
