"""Scripted per-request behaviour and its ``x-fake-*`` request-header equivalents."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

ResponseBody = bytes | str | Mapping[str, Any] | list[Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Behaviour:
    """How the fake provider answers one request; the defaults mean "answer normally".

    status: HTTP status. >= 400 without ``body`` gives a provider-format error body;
        < 400 without ``body`` gives the normal response with that status.
    body: custom response body (bytes/str sent as-is, anything else JSON-encoded).
    headers: extra response headers, e.g. ``{"retry-after": "2"}``.
    delay_s: pause before the response status line and headers are sent.
    chunk_delay_s: pause between stream chunks (``None`` = the server's default).
    cut_after_chunks: send this many stream events, then abort the connection without
        terminating the chunked body. Non-streaming responses are cut halfway through
        the body, whatever the number.
    drop_connection: close the connection without sending any response.
    cached_tokens: prompt tokens reported as served from cache.
    cache_creation_tokens: prompt tokens reported as written to cache (Anthropic only).
    tool_call: force (True) or suppress (False) a tool call; ``None`` lets the request
        decide. A tool call is only ever made when the request declares tools.
    usage: usage fields answered instead of the real ones, values as given (a string,
        a float, ``2**64 - 1`` ...), in the body or in each stream event carrying usage.
    fields: top-level reply fields answered instead of the real ones (``{"model": 42}``),
        in the body or in each stream event.
    stream_events: an OpenAI chat reply of this many text pieces (the echoed words
        over and over): a long stream (one event per piece), cheap to build.
    """

    status: int | None = None
    body: ResponseBody | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    chunk_delay_s: float | None = None
    cut_after_chunks: int | None = None
    drop_connection: bool = False
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    tool_call: bool | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)
    stream_events: int | None = None

    def __post_init__(self) -> None:
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, got {self.status}")
        for name in ("delay_s", "cached_tokens", "cache_creation_tokens"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("chunk_delay_s", "cut_after_chunks", "stream_events"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")


NORMAL = Behaviour()


class ControlHeaderError(ValueError):
    """A request carried an ``x-fake-*`` header whose value cannot be understood."""


def _milliseconds(value: str) -> float:
    return float(value) / 1000


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _json_object(value: str) -> dict[str, Any]:
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise ValueError(value) from None
    if not isinstance(parsed, dict):
        raise ValueError(value)
    return parsed


_CONTROL_HEADERS: dict[bytes, tuple[str, Callable[[str], Any]]] = {
    b"x-fake-status": ("status", int),
    b"x-fake-delay-ms": ("delay_s", _milliseconds),
    b"x-fake-chunk-delay-ms": ("chunk_delay_s", _milliseconds),
    b"x-fake-cut-after-chunks": ("cut_after_chunks", int),
    b"x-fake-drop-connection": ("drop_connection", _flag),
    b"x-fake-cached-tokens": ("cached_tokens", int),
    b"x-fake-cache-creation-tokens": ("cache_creation_tokens", int),
    b"x-fake-tool-call": ("tool_call", _flag),
    b"x-fake-retry-after": ("retry-after", str),
    b"x-fake-usage": ("usage", _json_object),
    b"x-fake-fields": ("fields", _json_object),
    b"x-fake-stream-events": ("stream_events", int),
}


def apply_control_headers(
    behaviour: Behaviour, raw_headers: list[tuple[bytes, bytes]]
) -> Behaviour:
    """Override ``behaviour`` with any ``x-fake-*`` request headers (they win)."""
    overrides: dict[str, Any] = {}
    for name, value in raw_headers:
        if not name.startswith(b"x-fake-") or name not in _CONTROL_HEADERS:
            continue
        field_name, convert = _CONTROL_HEADERS[name]
        try:
            overrides[field_name] = convert(value.decode("latin-1"))
        except ValueError:
            raise ControlHeaderError(f"invalid {name.decode()} header: {value!r}") from None
    if not overrides:
        return behaviour
    retry_after = overrides.pop("retry-after", None)
    if retry_after is not None:
        overrides["headers"] = {**behaviour.headers, "retry-after": retry_after}
    try:
        return replace(behaviour, **overrides)
    except ValueError as exc:
        raise ControlHeaderError(str(exc)) from None
