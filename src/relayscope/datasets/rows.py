"""A dataset row: the input messages, the output the model gave, the output expected.

``row_fields`` checks a row as a client sends it (the API's body, a JSONL line);
``from_record`` takes a row from a logged request, OpenAI chat or Anthropic messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from relayscope.errors import BadRequest
from relayscope.record import LogRecord

MAX_TEXT = 1_000_000
"""Characters an output or expected output may hold."""
MAX_MESSAGES = 1_000
FIELDS = ("messages", "output", "expected", "request_id", "model")
EDITABLE = ("messages", "output", "expected")


@dataclass(frozen=True, slots=True)
class RowFields:
    messages: list[dict[str, Any]]
    output: str | None = None
    expected: str | None = None
    request_id: str | None = None
    model: str | None = None


def _messages(value: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value or len(value) > MAX_MESSAGES:
        raise BadRequest(
            f"{where}'messages' must be a list of 1 to {MAX_MESSAGES} chat messages, "
            'as in [{"role": "user", "content": "Hi"}]',
            param="messages",
        )
    for n, message in enumerate(value):
        if (
            not isinstance(message, dict)
            or not isinstance(message.get("role"), str)
            or not message["role"]
        ):
            raise BadRequest(
                f"{where}'messages[{n}]' must be an object with a 'role' string",
                param=f"messages[{n}]",
            )
    return value


def _text(body: dict[str, Any], name: str, where: str, limit: int = MAX_TEXT) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise BadRequest(
            f"{where}'{name}' must be a string of at most {limit} characters, or null",
            param=name,
        )
    return value


def _object(body: object, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest(f"{where}a row must be a JSON object")
    for key in body:
        if key not in allowed:
            raise BadRequest(
                f"{where}unknown field {key!r}: a row takes {', '.join(allowed)}", param=key
            )
    return body


def row_fields(body: object, where: str = "") -> RowFields:
    """A new row from ``body``; ``where`` prefixes errors (``"line 3: "``)."""
    checked = _object(body, where, FIELDS)
    if "messages" not in checked:
        raise BadRequest(f"{where}a row needs 'messages'", param="messages")
    return RowFields(
        messages=_messages(checked["messages"], where),
        output=_text(checked, "output", where),
        expected=_text(checked, "expected", where),
        request_id=_text(checked, "request_id", where, 64),
        model=_text(checked, "model", where, 200),
    )


def row_changes(body: object) -> dict[str, Any]:
    """The editable fields ``body`` changes (at least one)."""
    checked = _object(body, "", EDITABLE)
    if not checked:
        raise BadRequest(f"The body must change at least one of {', '.join(EDITABLE)}")
    changes: dict[str, Any] = {}
    if "messages" in checked:
        changes["messages"] = _messages(checked["messages"], "")
    for name in ("output", "expected"):
        if name in checked:
            changes[name] = _text(checked, name, "")
    return changes


def from_record(record: LogRecord) -> RowFields | None:
    """The record's messages and output text, or None for a request that is not a chat
    (embeddings, images, an omitted or unreadable body)."""
    request = _json(record.request_body)
    if not isinstance(request, dict):
        return None
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return None
    system = request.get("system")  # Anthropic keeps the system prompt beside the messages
    if isinstance(system, str) and system:
        messages = [{"role": "system", "content": system}, *messages]
    return RowFields(
        messages=messages,
        output=output_text(_json(record.response_body)),
        request_id=record.id,
        model=record.request_model or record.response_model,
    )


def output_text(response: object) -> str | None:
    """The text a chat response answered: OpenAI's first choice, Anthropic's text blocks."""
    if not isinstance(response, dict):
        return None
    choices = response.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            content = message.get("content")
            return content if isinstance(content, str) else None
    content = response.get("content")
    if isinstance(content, list):
        texts = [
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ]
        return "".join(texts) if texts else None
    return None


def _json(text: str | None) -> object:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
