"""Anthropic's messages format."""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.providers.formats import fields
from relayscope.providers.formats.sse import iter_events

_COUNTS = (
    ("cache_read_input_tokens", "cache_read_tokens"),
    ("cache_creation_input_tokens", "cache_write_tokens"),
    ("output_tokens", "completion_tokens"),
)


def read_usage(data: dict[str, Any], parsed: Any) -> None:
    parsed.model = fields.model_name(data.get("model"), parsed.notes) or parsed.model
    usage = data.get("usage")
    if isinstance(usage, dict):
        _apply_usage(usage, parsed)


def _apply_usage(usage: dict[str, Any], parsed: Any) -> None:
    notes = parsed.notes
    for wire_name, name in _COUNTS:
        if usage.get(wire_name) is not None:
            setattr(parsed, name, fields.token_count(usage[wire_name], f"usage.{wire_name}", notes))
    if usage.get("input_tokens") is not None:
        parsed.extra["input_tokens"] = fields.token_count(
            usage["input_tokens"], "usage.input_tokens", notes
        )
    if parsed.extra.get("input_tokens") is not None:
        parsed.prompt_tokens = fields.bounded_sum(
            (parsed.extra["input_tokens"], parsed.cache_read_tokens, parsed.cache_write_tokens),
            "input tokens with cached ones",
            notes,
        )


def assemble_stream(raw: bytes, parsed_cls: type) -> Any:
    """Rebuild the ``message`` object a non-streaming call would have returned."""
    parsed = parsed_cls()
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, str] = {}
    for event, data in iter_events(raw):
        payload = orjson.loads(data)
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type", event)
        index = fields.index(payload.get("index"))
        if kind == "message_start":
            started = payload.get("message")
            message = dict(started) if isinstance(started, dict) else {}
            read_usage(message, parsed)
        elif kind == "content_block_start" and index is not None:
            block = payload.get("content_block")
            blocks[index] = dict(block) if isinstance(block, dict) else {}
        elif kind == "content_block_delta" and index is not None:
            delta = payload.get("delta")
            if isinstance(delta, dict):
                _apply_delta(blocks.setdefault(index, {"type": "text", "text": ""}), delta)
                piece = fields.text(delta.get("partial_json"))
                if delta.get("type") == "input_json_delta" and piece is not None:
                    partial_json[index] = partial_json.get(index, "") + piece
        elif kind == "message_delta":
            delta = payload.get("delta")
            message.update(delta if isinstance(delta, dict) else {})
            if isinstance(payload.get("usage"), dict):
                _apply_usage(payload["usage"], parsed)
    for index, text in partial_json.items():
        try:
            blocks[index]["input"] = orjson.loads(text) if text else {}
        except orjson.JSONDecodeError:
            blocks[index]["input"] = text
    message["content"] = [blocks[i] for i in sorted(blocks)]
    if parsed.completion_tokens is not None or parsed.extra.get("input_tokens") is not None:
        message["usage"] = {
            "input_tokens": parsed.extra.get("input_tokens"),
            "output_tokens": parsed.completion_tokens,
            "cache_read_input_tokens": parsed.cache_read_tokens,
            "cache_creation_input_tokens": parsed.cache_write_tokens,
        }
    parsed.body = message
    return parsed


def _apply_delta(block: dict[str, Any], delta: dict[str, Any]) -> None:
    kind = delta.get("type")
    if kind == "text_delta" and fields.text(delta.get("text")) is not None:
        block["text"] = (fields.text(block.get("text")) or "") + delta["text"]
    elif kind == "thinking_delta" and fields.text(delta.get("thinking")) is not None:
        block["thinking"] = (fields.text(block.get("thinking")) or "") + delta["thinking"]
    elif kind == "signature_delta" and fields.text(delta.get("signature")) is not None:
        block["signature"] = (fields.text(block.get("signature")) or "") + delta["signature"]
    elif kind == "citations_delta" and isinstance(delta.get("citation"), dict):
        block.setdefault("citations", []).append(delta["citation"])
