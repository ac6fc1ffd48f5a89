"""A logged request's prompt and answer as plain text, for evaluators to read.

Reads the bodies the gateway logs: OpenAI chat completions and the Responses API,
Anthropic messages, and their streams (the SSE text as captured). What is not one
of those is taken as it is: a check on an unknown shape still sees the raw body.
"""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.evaluators.model import Subject
from relayscope.record import LogRecord


def subject_of(record: LogRecord) -> Subject:
    return Subject(
        request_id=record.id,
        input_text=input_text(record.request_body),
        output_text=output_text(record.response_body) if record.success else "",
        latency_ms=record.latency_ms,
        cost_usd=record.cost_usd,
    )


def input_text(body: str | None) -> str:
    parsed = _json(body)
    if not isinstance(parsed, dict):
        return body or ""
    parts: list[str] = []
    system = parsed.get("system") or parsed.get("instructions")
    if system:
        parts.append(_content(system))
    messages = parsed.get("messages")
    if isinstance(messages, list):
        parts.extend(_content(m.get("content")) for m in messages if isinstance(m, dict))
    elif "input" in parsed:
        given = parsed["input"]
        if isinstance(given, list):
            parts.extend(_content(i.get("content") if isinstance(i, dict) else i) for i in given)
        else:
            parts.append(_content(given))
    elif "prompt" in parsed:
        parts.append(_content(parsed["prompt"]))
    return "\n".join(p for p in parts if p)


def output_text(body: str | None) -> str:
    if not body:
        return ""
    if body.lstrip().startswith(("data:", "event:")):
        return _stream_text(body)
    parsed = _json(body)
    if not isinstance(parsed, dict):
        return body
    return _reply_text(parsed) if _is_reply(parsed) else body


def _is_reply(parsed: dict[str, Any]) -> bool:
    return any(key in parsed for key in ("choices", "content", "output", "output_text"))


def _reply_text(parsed: dict[str, Any]) -> str:
    choices = parsed.get("choices")
    if isinstance(choices, list):
        texts = []
        for choice in choices:
            if isinstance(choice, dict):
                message = choice.get("message") or {}
                text = message.get("content") if isinstance(message, dict) else None
                texts.append(_content(text if text is not None else choice.get("text")))
        return "\n".join(texts)
    if isinstance(parsed.get("output_text"), str):
        return str(parsed["output_text"])
    if isinstance(parsed.get("output"), list):
        return "\n".join(
            _content(item.get("content")) for item in parsed["output"] if isinstance(item, dict)
        )
    return _content(parsed.get("content"))


def _stream_text(body: str) -> str:
    """The text deltas of an OpenAI chat, Responses or Anthropic messages stream."""
    pieces: list[str] = []
    for line in body.splitlines():
        if not line.startswith("data:"):
            continue
        event = _json(line.removeprefix("data:").strip())
        if not isinstance(event, dict):
            continue
        for choice in event.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                pieces.append(delta["content"])
        delta = event.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("text"), str):
            pieces.append(delta["text"])  # Anthropic text_delta
        elif event.get("type") == "response.output_text.delta" and isinstance(delta, str):
            pieces.append(delta)
    return "".join(pieces)


def _content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
        return "\n".join(texts)
    return orjson.dumps(content).decode()


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
