"""Validation of prompt documents (API bodies, ``prompts push`` files); errors name the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relayscope.prompts.template import Template

PROMPT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
LABEL = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")
"""Labels start with a letter, so a label can never be mistaken for a version number."""
RESERVED_PARAMETERS = frozenset({"messages", "system", "model", "stream", "stream_options"})
"""Body fields a version's ``parameters`` may not set (they have their own fields or
change the response's shape under the client's feet)."""
MAX_VERSION = 2**31 - 1
"""Version numbers are counted from 1; larger numbers than this name no version."""
MAX_NOTE = 2000
MAX_MODEL = 200

_VERSION_FIELDS = frozenset({"messages", "system", "model", "parameters", "note"})


class SpecError(ValueError):
    """A document field is invalid; ``field`` is its path, as in ``messages[0].content``."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """What a new version holds, before it gets a number."""

    template: Template
    model: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def same_content(self, other: VersionSpec) -> bool:
        return (
            self.template.digest == other.template.digest
            and self.model == other.model
            and self.parameters == other.parameters
        )


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """A prompt document: its id, a version, and labels to point at that version."""

    id: str
    version: VersionSpec
    labels: tuple[str, ...] = ()


def check_prompt_id(value: Any, where: str = "id") -> str:
    if not isinstance(value, str) or not PROMPT_ID.fullmatch(value):
        raise SpecError(
            where,
            "must be 1-128 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return value


def check_label(value: Any, where: str = "label") -> str:
    if not isinstance(value, str) or not LABEL.fullmatch(value):
        raise SpecError(
            where,
            "must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter",
        )
    return value


def check_selector(value: Any, where: str = "version") -> int | str:
    """A version number (int, or a string of ASCII digits) or a label name."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        # Compare lengths first: int() of thousands of digits is slow, then refused.
        value = int(value) if len(value) <= len(str(MAX_VERSION)) else MAX_VERSION + 1
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_VERSION:
            raise SpecError(where, f"a version number is from 1 to {MAX_VERSION}")
        return value
    if isinstance(value, str):
        return check_label(value, where)
    raise SpecError(where, "must be a version number or a label name")


def parse_template(messages: Any, system: Any = None, *, prefix: str = "") -> Template:
    if not isinstance(messages, list):
        raise SpecError(f"{prefix}messages", "must be a list of chat messages")
    for index, message in enumerate(messages):
        _check_message(message, f"{prefix}messages[{index}]")
    if system is not None and not isinstance(system, str):
        _check_parts(system, f"{prefix}system")
    if not messages and system is None:
        raise SpecError(f"{prefix}messages", "must hold at least one message (or give a system)")
    return Template(messages, system)


def parse_version(doc: Any, *, extra: frozenset[str] = frozenset()) -> VersionSpec:
    if not isinstance(doc, Mapping):
        raise SpecError("body", "must be a JSON object")
    for name in doc:
        if name not in _VERSION_FIELDS and name not in extra:
            raise SpecError(str(name), "unknown field")
    if "messages" not in doc:
        raise SpecError("messages", "is required")
    template = parse_template(doc["messages"], doc.get("system"))
    model = doc.get("model")
    if model is not None and (not isinstance(model, str) or not 0 < len(model) <= MAX_MODEL):
        raise SpecError("model", f"must be a model name of 1-{MAX_MODEL} characters")
    parameters = doc.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise SpecError("parameters", "must be an object of request body fields")
    for name in parameters:
        if name in RESERVED_PARAMETERS:
            raise SpecError(f"parameters.{name}", "cannot be a prompt default")
    note = doc.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise SpecError("note", f"must be a string of at most {MAX_NOTE} characters")
    return VersionSpec(template, model, dict(parameters), note)


def parse_prompt(doc: Any) -> PromptSpec:
    if not isinstance(doc, Mapping):
        raise SpecError("body", "must be a JSON object")
    if "id" not in doc:
        raise SpecError("id", "is required")
    prompt_id = check_prompt_id(doc["id"])
    version = parse_version(doc, extra=frozenset({"id", "labels"}))
    labels = doc.get("labels") or []
    if not isinstance(labels, list):
        raise SpecError("labels", "must be a list of label names")
    checked = tuple(check_label(label, f"labels[{i}]") for i, label in enumerate(labels))
    return PromptSpec(prompt_id, version, checked)


def _check_message(message: Any, where: str) -> None:
    if not isinstance(message, Mapping):
        raise SpecError(where, "must be an object with 'role' and 'content'")
    role = message.get("role")
    if not isinstance(role, str) or not role:
        raise SpecError(f"{where}.role", "must be a non-empty string")
    content = message.get("content")
    if content is None or isinstance(content, str):
        return
    _check_parts(content, f"{where}.content")


def _check_parts(parts: Any, where: str) -> None:
    if not isinstance(parts, list):
        raise SpecError(where, "must be a string or a list of content parts")
    for index, part in enumerate(parts):
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise SpecError(f"{where}[{index}]", "must be an object with a 'type'")
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise SpecError(f"{where}[{index}].text", "must be a string")
