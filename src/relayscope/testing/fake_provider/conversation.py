"""Provider-neutral reply planning: echo text, word pieces, token counts, tool calls."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

MESSAGE_OVERHEAD_TOKENS = 3
ARGUMENT_FRAGMENT_CHARS = 4

_PIECE = re.compile(r"\s*\S+")
_SCHEMA_SAMPLES: dict[str, Any] = {
    "integer": 1,
    "number": 1,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}


class InvalidRequest(ValueError):
    """The request body is not something the emulated endpoint accepts."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]

    @property
    def arguments_json(self) -> str:
        return orjson.dumps(self.arguments).decode()

    def fragments(self) -> list[str]:
        text = self.arguments_json
        step = ARGUMENT_FRAGMENT_CHARS
        return [text[start : start + step] for start in range(0, len(text), step)]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the fake "model" answers: either text pieces or one tool call."""

    model: str
    prompt_tokens: int
    pieces: tuple[str, ...]
    truncated: bool
    tool_call: ToolCall | None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def completion_tokens(self) -> int:
        if self.tool_call is not None:
            return math.ceil(len(self.tool_call.arguments_json) / ARGUMENT_FRAGMENT_CHARS)
        return len(self.pieces)


def count_words(text: str) -> int:
    return len(text.split())


def content_text(content: Any) -> str:
    """Text of a message content: a string, or a list of text/tool_result parts."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = (_part_text(part) for part in content if isinstance(part, Mapping))
    return " ".join(text for text in texts if text)


def _part_text(part: Mapping[str, Any]) -> str:
    text = part.get("text")
    if isinstance(text, str):
        return text
    if part.get("type") == "tool_result":
        return content_text(part.get("content"))
    return ""


def prompt_tokens(message_texts: Iterable[str]) -> int:
    return sum(MESSAGE_OVERHEAD_TOKENS + count_words(text) for text in message_texts)


def reply_pieces(source_text: str, max_tokens: Any) -> tuple[tuple[str, ...], bool]:
    """Word pieces of ``"Echo: <source_text>"``, cut to ``max_tokens`` words if given."""
    pieces = tuple(_PIECE.findall(f"Echo: {source_text.strip()}"))
    limited = isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens >= 0
    if limited and len(pieces) > max_tokens:
        return pieces[:max_tokens], True
    return pieces, False


def mentions_weather(text: str) -> bool:
    return "weather" in text.lower()


def sample_arguments(schema: Any) -> dict[str, Any]:
    """Deterministic arguments for a JSON schema: one sample value per property."""
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(properties, Mapping):
        return {}
    return {name: _sample_value(name, spec) for name, spec in properties.items()}


def _sample_value(name: str, spec: Any) -> Any:
    if not isinstance(spec, Mapping):
        return f"fake-{name}"
    enum = spec.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if isinstance(kind, str) and kind in _SCHEMA_SAMPLES:
        return copy.copy(_SCHEMA_SAMPLES[kind])
    return f"fake-{name}"


def pick_tool(
    schemas: Mapping[str, Any],
    *,
    override: bool | None,
    forced: bool,
    forced_name: str | None,
    disabled: bool,
    weather: bool,
) -> ToolCall | None:
    """Decide on a tool call: explicit override, then the request's tool_choice, then "weather"."""
    if not schemas:
        return None
    wanted = override if override is not None else forced or (weather and not disabled)
    if not wanted:
        return None
    name = (
        forced_name if forced_name is not None and forced_name in schemas else next(iter(schemas))
    )
    return ToolCall(name, sample_arguments(schemas[name]))


def last_index(messages: list[Mapping[str, Any]], roles: tuple[str, ...]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") in roles:
            return index
    return None


def require_messages(payload: Any) -> list[Mapping[str, Any]]:
    if not isinstance(payload, Mapping):
        raise InvalidRequest("request body must be a JSON object")
    messages = payload.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, Mapping) for m in messages):
        raise InvalidRequest("'messages' must be a list of message objects")
    return messages


def requested_model(payload: Mapping[str, Any], default_model: str) -> str:
    model = payload.get("model")
    return model if isinstance(model, str) and model else default_model
