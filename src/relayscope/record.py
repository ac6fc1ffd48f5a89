"""One log record per proxied request."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import orjson


@dataclass(slots=True, kw_only=True)
class LogRecord:
    id: str
    org_id: str
    key_id: str | None = None
    created_at: datetime
    provider: str
    path: str
    request_model: str | None = None
    response_model: str | None = None
    status: int
    latency_ms: float
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None
    user_id: str | None = None
    session_id: str | None = None
    session_path: str | None = None
    session_name: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    request_name: str | None = None
    stream: bool = False
    cancelled: bool = False
    cache_hit: bool = False
    cache_source_id: str | None = None
    cache_similarity: float | None = None
    cost_saved_usd: float | None = None
    rate_limited: bool = False
    attempts: list[dict[str, Any]] | None = None
    fallback_index: int | None = None
    prompt_id: str | None = None
    prompt_version: int | None = None
    prompt_variables: dict[str, Any] | None = None
    error: str | None = None
    request_body: str | None = None
    response_body: str | None = None
    record_uid: str | None = None
    """This record's own identity, made by the gateway (never sent by a client): it
    tells a replay of this record (same ``record_uid``) from another request that
    reused its ``Helicone-Request-Id``. ``None`` on records made before it existed."""
    warnings: list[str] = field(default_factory=list)
    """``Helicone-Warning`` texts: what the gateway did not take as the client sent it."""
    request_body_bytes: int | None = None
    """Size of the request body when the stored copy was cut to the log's limit."""
    response_body_bytes: int | None = None
    """Size of the response body when the stored copy was cut to the log's limit."""
    reasoning_tokens: int | None = None
    """Output tokens the model spent thinking, where the provider reports them (OpenAI
    ``reasoning_tokens``, Gemini ``thoughtsTokenCount``); already in ``completion_tokens``."""

    def to_row(self) -> dict[str, Any]:
        # Shallow on purpose: dataclasses.asdict deep-copies and dominated batch writes.
        return {name: getattr(self, name) for name in _FIELD_NAMES}

    def without_nul(self) -> LogRecord:
        """This record with every NUL character replaced by U+FFFD.

        Postgres text and jsonb cannot hold U+0000: one client body with a NUL byte
        would fail its whole batch, and every replay of it, on that backend.
        """
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if value is not None and "\x00" in value:
                setattr(self, name, value.replace("\x00", "\ufffd"))
        for name in _JSON_FIELDS:
            value = getattr(self, name)
            # orjson writes NUL as \u0000: one C-speed scan instead of a Python walk.
            if value and b"\\u0000" in orjson.dumps(value):
                setattr(self, name, _without_nul(value))
        return self

    @property
    def success(self) -> bool:
        return 200 <= self.status < 400 and not self.cancelled and self.error is None


_FIELD_NAMES = tuple(f.name for f in fields(LogRecord))
_TEXT_FIELDS = tuple(f.name for f in fields(LogRecord) if f.type in ("str", "str | None"))
_JSON_FIELDS = tuple(f.name for f in fields(LogRecord) if f.type.startswith(("dict", "list")))


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value
