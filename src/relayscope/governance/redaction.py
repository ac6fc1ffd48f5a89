"""Redaction of every stored field that can carry user content, before it reaches the store.

The provider always receives the original request; only what is logged changes.
Rules are per org: built-in detectors or the org's own regular expressions. They
are held in memory (refreshed by ``RedactionRules.refresh``) because they are
applied in the log writer for every record.

User content is more than the bodies: an upstream error often quotes the input, and
labels the client sends (property values, request and session names) are free text.
Identifiers are left alone (user id, session id and path, request and key ids, model,
provider, path): records are grouped, filtered and deleted by them, so an operator
who must not store them should not send personal data as ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from relayscope.record import LogRecord

REPLACEMENT = "[REDACTED]"
MAX_PATTERN_LENGTH = 500


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")


def _cards(text: str, replacement: str) -> str:
    def swap(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group())
        return replacement if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()

    return _CARD.sub(swap, text)


def _regex(pattern: str) -> Callable[[str, str], str]:
    compiled = re.compile(pattern)
    return lambda text, replacement: compiled.sub(replacement, text)


DETECTORS: dict[str, Callable[[str, str], str]] = {
    "email": _regex(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    "phone": _regex(r"(?<![\w+])\+?\d{1,3}?[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}(?!\w)"),
    "card": _cards,
    "api_key": _regex(
        r"\b(?:sk-[A-Za-z0-9_-]{16,}|sk-ant-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}"
        r"|gh[pousr]_[A-Za-z0-9]{30,}|xox[abpr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35})"
    ),
}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    """"detector" (``value`` names one of DETECTORS) or "pattern" (``value`` is a regex)."""
    value: str
    replacement: str = REPLACEMENT


def validate(kind: str, value: str) -> str | None:
    """What is wrong with a rule definition, or None."""
    if kind == "detector":
        if value not in DETECTORS:
            return f"unknown detector {value!r}; known: {', '.join(DETECTORS)}"
        return None
    if kind != "pattern":
        return "kind must be 'detector' or 'pattern'"
    if not value or len(value) > MAX_PATTERN_LENGTH:
        return f"pattern must be 1 to {MAX_PATTERN_LENGTH} characters"
    try:
        re.compile(value)
    except re.error as exc:
        return f"not a valid regular expression: {exc}"
    except (OverflowError, RecursionError) as exc:  # e.g. a{4294967296}: not re.error
        return f"not a usable regular expression: {exc}"
    return None


class Redactor:
    """The compiled rules of one org."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._steps: list[tuple[Callable[[str, str], str], str]] = []
        for rule in rules:
            apply = DETECTORS[rule.value] if rule.kind == "detector" else _regex(rule.value)
            self._steps.append((apply, rule.replacement))

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for apply, replacement in self._steps:
            text = apply(text, replacement)
        return text

    def __bool__(self) -> bool:
        return bool(self._steps)


class RedactionRules:
    """Every org's redactor, swapped in whole on refresh."""

    def __init__(self) -> None:
        self._by_org: dict[str, Redactor] = {}

    def for_org(self, org_id: str) -> Redactor | None:
        return self._by_org.get(org_id)

    def replace(self, rules: Iterable[tuple[str, Rule]]) -> None:
        grouped: dict[str, list[Rule]] = {}
        for org_id, rule in rules:
            grouped.setdefault(org_id, []).append(rule)
        self._by_org = {org: Redactor(org_rules) for org, org_rules in grouped.items()}


USER_TEXT_FIELDS = ("request_body", "response_body", "error", "request_name", "session_name")
"""The record's text fields that hold what users and upstreams said."""


def redact_record(record: LogRecord, redact: Redactor) -> LogRecord:
    """``record`` with ``redact`` applied to all of its user content, in place."""
    for name in USER_TEXT_FIELDS:
        setattr(record, name, redact(getattr(record, name)))
    if record.properties:
        record.properties = {name: redact(value) or "" for name, value in record.properties.items()}
    if record.prompt_variables:
        record.prompt_variables = _redact_json(record.prompt_variables, redact)
    if record.attempts:
        record.attempts = [_redact_attempt(attempt, redact) for attempt in record.attempts]
    return record


def _redact_attempt(attempt: dict[str, Any], redact: Redactor) -> dict[str, Any]:
    error = attempt.get("error")
    return {**attempt, "error": redact(error)} if isinstance(error, str) else attempt


def _redact_json(value: Any, redact: Redactor) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_json(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_json(item, redact) for item in value]
    return value
