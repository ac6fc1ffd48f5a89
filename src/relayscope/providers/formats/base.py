"""What the gateway reads from a provider's response, whatever its format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from relayscope.providers.formats import anthropic, openai
from relayscope.providers.formats.fields import TOKEN_LIMIT, Notes, bounded_sum


@dataclass(slots=True)
class Parsed:
    model: str | None = None
    prompt_tokens: int | None = None
    """All input tokens, cached ones included."""
    completion_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    body: object = None
    """The response as JSON; for a stream, the assembled final message."""
    extra: dict[str, Any] = field(default_factory=dict)
    notes: Notes = field(default_factory=Notes)
    """Fields of the reply that were refused or corrected (see ``fields``)."""

    @property
    def total_tokens(self) -> int | None:
        if self.prompt_tokens is None and self.completion_tokens is None:
            return None
        total = (self.prompt_tokens or 0) + (self.completion_tokens or 0)
        return total if total <= TOKEN_LIMIT else None


def parse_response(fmt: str, raw: bytes, *, stream: bool) -> Parsed:
    """Usage, model and body of a response. Never raises on odd input."""
    try:
        if stream:
            module = anthropic if fmt == "anthropic" else openai
            return _settled(module.assemble_stream(raw, Parsed))
        data = orjson.loads(raw) if raw else None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return Parsed(body=raw.decode("utf-8", errors="replace") if raw else None)
    parsed = Parsed(body=data)
    if isinstance(data, dict):
        (anthropic if fmt == "anthropic" else openai).read_usage(data, parsed)
    return _settled(parsed)


def _settled(parsed: Parsed) -> Parsed:
    """Notes a total too large for the stores (``total_tokens`` then reads None)."""
    bounded_sum((parsed.prompt_tokens, parsed.completion_tokens), "total tokens", parsed.notes)
    return parsed
