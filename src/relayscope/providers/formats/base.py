"""What the gateway reads from a provider's response, whatever its format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from relayscope.providers.formats import anthropic, audio, gemini, openai, responses
from relayscope.providers.formats.fields import TOKEN_LIMIT, Notes, bounded_sum


@dataclass(slots=True)
class Parsed:
    model: str | None = None
    prompt_tokens: int | None = None
    """All input tokens, cached ones included."""
    completion_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    """Output tokens spent thinking (already among ``completion_tokens``)."""
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


_MODULES = {"anthropic": anthropic, "audio": audio, "gemini": gemini, "responses": responses}
_AUDIO_PATHS = ("/audio/transcriptions", "/audio/translations", "/audio/speech")

PLAIN = "plain"
"""The format of a reply that reports no billable usage (a list, a retrieval, a
deletion): its body is logged, and no tokens or cost read from it."""


def body_format(provider_format: str, method: str, path: str) -> str:
    """The wire format of a reply, from the provider's format and the route called.

    ``GET /responses/{id}`` returns a response with the usage of the call that made
    it: reading it again would bill that call twice, so only POSTs are read for usage.
    """
    if method != "POST":
        return PLAIN
    if ":generateContent" in path or ":streamGenerateContent" in path:
        return "gemini"
    if provider_format == "openai" and path.rstrip("/").endswith("/responses"):
        return "responses"
    if provider_format == "openai" and path.rstrip("/").endswith(_AUDIO_PATHS):
        return "audio"
    return provider_format


def parse_response(fmt: str, raw: bytes, *, stream: bool) -> Parsed:
    """Usage, model and body of a response. Never raises on odd input."""
    module = _MODULES.get(fmt, openai)
    try:
        if stream and fmt != PLAIN:
            return _settled(module.assemble_stream(raw, Parsed))
        if stream:
            return Parsed(body=raw.decode("utf-8", errors="replace") if raw else None)
        data = orjson.loads(raw) if raw else None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return Parsed(body=raw.decode("utf-8", errors="replace") if raw else None)
    if fmt == "gemini" and isinstance(data, list):
        return _settled(gemini.assemble_chunks(data, Parsed))
    parsed = Parsed(body=data)
    if isinstance(data, dict) and fmt != PLAIN:
        module.read_usage(data, parsed)
    return _settled(parsed)


def _settled(parsed: Parsed) -> Parsed:
    """Notes a total too large for the stores (``total_tokens`` then reads None)."""
    bounded_sum((parsed.prompt_tokens, parsed.completion_tokens), "total tokens", parsed.notes)
    return parsed
