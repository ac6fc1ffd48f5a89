"""What the request page shows beyond the record's own fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from relayscope.proxy.tags import REQUEST_NAME_PROPERTY
from relayscope.record import LogRecord


def stream_label(stream: bool, response_body: object) -> str:
    """Whether the answer came as a stream: a request that asked for one can still be
    answered with JSON (an error, most often), which is not a stream."""
    if not stream:
        return "no"
    if isinstance(response_body, dict | list):
        return "no: asked for a stream, answered with JSON"
    if response_body is None:
        return "asked for a stream (the response was not stored)"
    return "yes (shown assembled)"


def shown_properties(record: LogRecord) -> dict[str, str]:
    """The record's properties, without the copy of ``Helicone-Request-Name`` kept
    as a property for Helicone's filters (the page shows the name already)."""
    return {
        name: value
        for name, value in record.properties.items()
        if not (name == REQUEST_NAME_PROPERTY and value == record.request_name)
    }


@dataclass(frozen=True)
class Message:
    role: str
    text: str


@dataclass(frozen=True)
class FilledPrompt:
    variables: dict[str, str]
    """Each variable's value as text (JSON for values that are not strings)."""
    messages: list[Message] = field(default_factory=list)
    problem: str | None = None
    """Why the filled prompt cannot be shown (the version deleted, a variable missing)."""


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: the text ones, in order
        texts = [p.get("text") for p in value if isinstance(p, dict)]
        if texts and all(isinstance(t, str) for t in texts):
            return "\n".join(t for t in texts if isinstance(t, str))
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def filled_prompt(variables: dict[str, Any], status: int, body: Any) -> FilledPrompt:
    """The prompts API's render answer (``status``, ``body``) for the page."""
    shown = {name: _as_text(value) for name, value in variables.items()}
    data = body.get("data") if isinstance(body, dict) else None
    if status != 200 or not isinstance(data, dict):
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        return FilledPrompt(shown, problem=f"Cannot fill the prompt: {message or status}")
    messages = []
    if data.get("system") is not None:
        messages.append(Message("system", _as_text(data["system"])))
    for message in data.get("messages") or []:
        if isinstance(message, dict):
            role = str(message.get("role", "?"))
            messages.append(Message(role, _as_text(message.get("content"))))
    return FilledPrompt(shown, messages)
