"""OpenAI's Responses API (``POST /v1/responses``): usage and stream assembly.

A non-streaming reply is a ``response`` object whose usage says ``input_tokens``,
``output_tokens`` and their details, which ``openai.read_usage`` reads. A stream is
a run of typed events; its last one (``response.completed``, or ``.incomplete`` /
``.failed``) carries the whole response, usage included, so that is the record's
body. A stream cut before it is rebuilt from the output items and deltas seen.
"""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.providers.formats import fields, openai
from relayscope.providers.formats.sse import iter_events

read_usage = openai.read_usage

_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_STARTED = frozenset({"response.created", "response.in_progress"})


def assemble_stream(raw: bytes, parsed_cls: type) -> Any:
    """The ``response`` object a non-streaming call would have returned."""
    parsed = parsed_cls()
    response: dict[str, Any] = {}
    items: dict[int, dict[str, Any]] = {}
    final = None
    for event, data in iter_events(raw):
        if data.strip() == "[DONE]":
            continue
        payload = orjson.loads(data)
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type", event)
        if kind in _FINAL or kind in _STARTED:
            body = payload.get("response")
            if isinstance(body, dict):
                if kind in _FINAL:
                    final = body
                else:
                    response = dict(body)
            continue
        index = fields.index(payload.get("output_index"))
        if index is None:
            continue
        if kind in ("response.output_item.added", "response.output_item.done"):
            item = payload.get("item")
            if isinstance(item, dict):
                items[index] = dict(item)
        else:
            _apply_delta(items.setdefault(index, {}), kind, payload)
    if final is not None:
        parsed.body = final
    else:
        response["output"] = [items[i] for i in sorted(items)]
        parsed.body = response
    if isinstance(parsed.body, dict):
        read_usage(parsed.body, parsed)
    return parsed


def _apply_delta(item: dict[str, Any], kind: str, payload: dict[str, Any]) -> None:
    delta = fields.text(payload.get("delta"))
    if delta is None:
        return
    if kind == "response.output_text.delta":
        part = fields.index(payload.get("content_index")) or 0
        content = item.setdefault("content", [])
        while len(content) <= part:
            content.append({"type": "output_text", "text": ""})
        if isinstance(content[part], dict):
            content[part]["text"] = (fields.text(content[part].get("text")) or "") + delta
    elif kind == "response.function_call_arguments.delta":
        item["arguments"] = (fields.text(item.get("arguments")) or "") + delta
    elif kind == "response.reasoning_summary_text.delta":
        part = fields.index(payload.get("summary_index")) or 0
        summary = item.setdefault("summary", [])
        while len(summary) <= part:
            summary.append({"type": "summary_text", "text": ""})
        if isinstance(summary[part], dict):
            summary[part]["text"] = (fields.text(summary[part].get("text")) or "") + delta
