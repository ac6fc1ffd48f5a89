"""Chat templates with ``{{variable}}`` placeholders, and how they are filled.

A template is the chat part of a request: ``messages`` (OpenAI or Anthropic shape)
and an optional Anthropic-style ``system`` (a string or text blocks). Placeholders
may sit in any text: a string ``content``, a ``{"type": "text", "text": ...}``
content part, or a system text block.

Filling works on the parsed JSON structure, never on raw JSON text, and is one
``re.sub`` pass per text: a value is inserted as-is and never scanned again, so a
value such as ``{{other}}`` stays literal (no template injection), and quotes or
newlines in a value cannot break the JSON the body is serialised to.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
"""``{{name}}``; spaces inside the braces are allowed: ``{{ name }}``."""

Json = Any
System = str | list[Json] | None


class MissingVariables(Exception):
    """Filling needed variables that were not given."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass(frozen=True, slots=True)
class Template:
    messages: list[Json]
    system: System = None
    variables: tuple[str, ...] = field(init=False)
    """Placeholder names in order of first appearance."""

    def __post_init__(self) -> None:
        seen: dict[str, None] = {}
        for text in self.texts():
            for match in PLACEHOLDER.finditer(text):
                seen.setdefault(match.group(1))
        object.__setattr__(self, "variables", tuple(seen))

    def texts(self) -> Iterator[str]:
        """Every text a placeholder may sit in."""
        yield from _system_texts(self.system)
        for message in self.messages:
            yield from _message_texts(message)

    def fill(self, values: Mapping[str, Any]) -> Template:
        """A copy with every placeholder replaced; MissingVariables names the absent ones."""
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise MissingVariables(missing)
        if not self.variables:
            return self
        rendered = {name: render_value(values[name]) for name in self.variables}

        def substitute(text: str) -> str:
            return PLACEHOLDER.sub(lambda m: rendered[m.group(1)], text)

        filled = object.__new__(Template)
        # Built directly: a filled template is final (never filled again): no variables.
        object.__setattr__(filled, "messages", [_map_message(m, substitute) for m in self.messages])
        object.__setattr__(filled, "system", _map_system(self.system, substitute))
        object.__setattr__(filled, "variables", ())
        return filled

    def to_json(self) -> dict[str, Json]:
        return {"messages": self.messages, "system": self.system}

    @property
    def digest(self) -> str:
        """Identity of the template's content: equal templates have equal digests."""
        canonical = orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


def render_value(value: Any) -> str:
    """A variable's text: strings as they are, other JSON values as their JSON text."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def has_placeholder(text: str) -> bool:
    return "{{" in text and PLACEHOLDER.search(text) is not None


def message_has_placeholder(message: Json) -> bool:
    return any(has_placeholder(text) for text in _message_texts(message))


def system_has_placeholder(system: System) -> bool:
    return any(has_placeholder(text) for text in _system_texts(system))


def _message_texts(message: Json) -> Iterator[str]:
    if not isinstance(message, dict):
        return
    content = message.get("content")
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        yield from _part_texts(content)


def _system_texts(system: System) -> Iterator[str]:
    if isinstance(system, str):
        yield system
    elif isinstance(system, list):
        yield from _part_texts(system)


def _part_texts(parts: list[Json]) -> Iterator[str]:
    for part in parts:
        if isinstance(part, dict) and part.get("type") == "text":
            text = part.get("text")
            if isinstance(text, str):
                yield text


def _map_message(message: Json, fn: Callable[[str], str]) -> Json:
    if not isinstance(message, dict):
        return message
    content = message.get("content")
    if isinstance(content, str):
        return {**message, "content": fn(content)}
    if isinstance(content, list):
        return {**message, "content": _map_parts(content, fn)}
    return dict(message)


def _map_system(system: System, fn: Callable[[str], str]) -> System:
    if isinstance(system, str):
        return fn(system)
    if isinstance(system, list):
        return _map_parts(system, fn)
    return system


def _map_parts(parts: list[Json], fn: Callable[[str], str]) -> list[Json]:
    mapped = []
    for part in parts:
        text = part.get("text") if isinstance(part, dict) else None
        if isinstance(text, str) and part.get("type") == "text":
            part = {**part, "text": fn(text)}
        mapped.append(part)
    return mapped
