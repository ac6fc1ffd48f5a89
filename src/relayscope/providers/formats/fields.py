"""Checks on what a provider's reply says about itself: every field is untrusted.

A provider (or anything posing as one) can answer ``"prompt_tokens": "5"``,
``2**64 - 1``, ``-3``, ``1.5``, ``true`` or an object, and a model that is a number.
Stored as they came, such values failed the whole batch of log records they were
in. Here each is checked once, where it is read: a bad value is dropped (or, for a
numeric string, parsed) and a note of it kept for the record.
"""

from __future__ import annotations

import re

TOKEN_LIMIT = 2**31 - 1
"""The largest count the stores' token columns hold (32-bit INTEGER on Postgres)."""
MODEL_MAX_LENGTH = 200
"""The stores' model columns hold 200 characters."""
MAX_NOTES = 8

_DIGITS = re.compile(r"\s*[0-9]{1,20}\s*")
_SHOWN = 40


class Notes:
    """What was wrong with a reply, each thing once, at most ``MAX_NOTES`` of them."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}

    def add(self, text: str) -> None:
        if len(self._seen) < MAX_NOTES:
            self._seen[text] = None

    def __bool__(self) -> bool:
        return bool(self._seen)

    def __str__(self) -> str:
        return "; ".join(self._seen)


def shown(value: object) -> str:
    """``value`` as the provider sent it, short enough for a note."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def token_count(value: object, name: str, notes: Notes) -> int | None:
    """A count from the reply's ``name`` field, or None (noted) when it is not one."""
    if value is None:
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        notes.add(f"{name} was the string {shown(value)}, read as a number")
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        notes.add(f"{name} {shown(value)} is not a token count; dropped")
        return None
    if not 0 <= value <= TOKEN_LIMIT:
        notes.add(f"{name} {shown(value)} is out of range (0 to {TOKEN_LIMIT}); dropped")
        return None
    return value


def bounded_sum(counts: tuple[int | None, ...], name: str, notes: Notes) -> int | None:
    """The sum of the counts given, or None (noted) when it would not fit a store."""
    if all(count is None for count in counts):
        return None
    total = sum(count or 0 for count in counts)
    if total > TOKEN_LIMIT:
        notes.add(f"{name} adds up to {total}, out of range (0 to {TOKEN_LIMIT}); dropped")
        return None
    return total


def model_name(value: object, notes: Notes) -> str | None:
    """The reply's model, or None (noted) when it is not a string."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        notes.add(f"model {shown(value)} is not a string; dropped")
        return None
    if len(value) > MODEL_MAX_LENGTH:
        notes.add(f"model is {len(value)} characters long; cut to {MODEL_MAX_LENGTH}")
        return value[:MODEL_MAX_LENGTH]
    return value


def text(value: object) -> str | None:
    """A piece of streamed text; anything else contributes nothing."""
    return value if isinstance(value, str) else None


def index(value: object) -> int | None:
    """A stream's choice or block index, when it is a small non-negative integer."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1024:
        return value
    return None
