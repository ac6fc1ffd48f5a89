"""Record inputs for a request the gateway did not proxy: one an application logged
itself (``custom``), or an LLM call read from a trace (``otlp``).

They are the same ``RecordInputs`` a proxied request's record is built from, so the
record takes the same path: journaled, queued on the log writer, built there (the
response parsed, the cost priced with the same code), redacted, and stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from relayscope.auth.keys import Principal
from relayscope.capture import BodyCapture
from relayscope.context import Tags
from relayscope.ids import random_uuid
from relayscope.logs.stage import RecordInputs, capped_text


@dataclass(slots=True, kw_only=True)
class External:
    """What is known of a request made without the gateway."""

    request_id: str
    provider_name: str
    format: str
    """The wire format its response body is read in (``providers.formats``)."""
    pricing_id: str | None
    path: str
    model: str | None
    status: int
    created_at: datetime
    latency_ms: float
    ttft_ms: float | None = None
    request_body: bytes | None = None
    response_body: bytes = b""
    stream: bool = False
    error: str | None = None
    tags: Tags = field(default_factory=Tags)
    usage: dict[str, int | None] | None = None
    """Token counts reported beside the body (a span's attributes)."""
    response_model: str | None = None
    record_uid: str | None = None
    """The record's own identity when the source names it (a span: the same span sent
    again is then a replay, stored once); None: a new one."""


def record_inputs(who: Principal, known: External, body_limit: int) -> RecordInputs:
    """The inputs of ``known``'s record, in ``who``'s org, bodies kept to ``body_limit``."""
    captured = BodyCapture(body_limit)
    captured.add(known.response_body)
    tags = known.tags
    request_body = known.request_body
    inputs: RecordInputs = {
        "request_id": known.request_id,
        "record_uid": known.record_uid or random_uuid(),
        "org_id": who.org_id,
        "key_id": who.key_id,
        "created_at": known.created_at,
        "provider_name": known.provider_name,
        "format": known.format,
        "priced": True,
        "pricing_id": known.pricing_id,
        "path": known.path,
        "model": known.model,
        "status": known.status,
        "latency_ms": known.latency_ms,
        "ttft_ms": known.ttft_ms,
        "body_limit": body_limit,
        "response_head": captured.head().decode("latin-1"),
        "response_tail": captured.tail().decode("latin-1"),
        "response_size": captured.size,
        "upstream_stream": known.stream,
        "wants_stream": known.stream,
        "request_body": None if request_body is None else capped_text(request_body, body_limit),
        "request_body_bytes": 0 if request_body is None else len(request_body),
        "omit_response": False,
        "error": known.error,
        "cancelled": False,
        "cache_hit": False,
        "cache_source_id": None,
        "cache_similarity": None,
        "user_id": tags.user_id,
        "session_id": tags.session_id,
        "session_path": tags.session_path,
        "session_name": tags.session_name,
        "request_name": tags.request_name,
        "properties": tags.properties,
        "attempts": None,
        "fallback_index": None,
        "prompt_id": None,
        "prompt_version": None,
        "prompt_variables": None,
        "rate_limited": False,
        "warnings": [],
        "response_type": "application/json",
    }
    if known.usage is not None:
        inputs["usage"] = known.usage
        inputs["response_model"] = known.response_model
    return inputs


def text(value: Any, limit: int) -> str | None:
    """``value`` when it is a non-empty string, cut to ``limit`` characters."""
    if not isinstance(value, str) or not value:
        return None
    return value[:limit]
