"""OTLP/HTTP trace exports (``ExportTraceServiceRequest``) read into LLM call records.

Both encodings OTLP/HTTP defines are read into the one protobuf message, with the
OpenTelemetry project's own generated classes (``opentelemetry-proto``): binary
protobuf as it is, and JSON through protobuf's JSON mapping once its ids, which
OTLP writes as hex where the mapping expects base64, are converted.

A span is an LLM call when it names a model, in the OpenTelemetry GenAI conventions
(``gen_ai.request.model``), as OpenLLMetry writes them, or in OpenInference's
(``llm.model_name``, span kind ``LLM``). Other spans make no record; they are the
path parents of the calls below them. A trace is a session: its id is the trace id,
and a call's session path is the names of the spans above it in the export, outermost
first, then its own.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from relayscope.context import Tags
from relayscope.errors import BadRequest
from relayscope.ingest.records import External, text
from relayscope.providers.formats import PLAIN
from relayscope.providers.formats.fields import MODEL_MAX_LENGTH
from relayscope.providers.registry import PROVIDERS
from relayscope.proxy.tags import (
    MAX_ID,
    MAX_PATH,
    MAX_PROPERTIES,
    MAX_PROPERTY_NAME,
    MAX_PROPERTY_VALUE,
    property_name,
)

PATH = "/v1/traces"
"""The path OTLP/HTTP exporters send traces to; it is the records' path too."""
MAX_SEGMENT = 100
"""Characters of a span name kept as one session path segment."""
MAX_NANOS = 253_402_300_799 * 10**9
"""The last second of year 9999: a span timed later (or unset, or ending before it
starts) is logged at its arrival, without a latency."""
MAX_DEPTH = 64
"""Ancestors looked at for a session path (a cycle of parents ends there too)."""
_MODEL_KEYS = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name")
_LLM_KINDS = ("LLM",)
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_TOKENS = {
    "prompt_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    "completion_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_write_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "llm.token_count.prompt_details.cache_write",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning",
    ),
}
_CONVENTION_NAMES = {
    "az.ai.openai": "azure",
    "azure.ai.openai": "azure",
    "gcp.gemini": "gemini",
    "gcp.gen_ai": "gemini",
    "gcp.vertex_ai": "gemini",
    "google": "gemini",
    "mistral_ai": "mistral",
    "x_ai": "xai",
}
"""Provider names the conventions (or instrumentations) use, as the registry spells them."""
_PRICING = {p.name: p.pricing_id for p in PROVIDERS}
_ASSOCIATION = "traceloop.association.properties."
_USER_KEYS = ("user.id", "gen_ai.user.id", "llm.user", _ASSOCIATION + "user_id")
_HEX = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def decode(body: bytes, protobuf: bool) -> ExportTraceServiceRequest:
    """The export in ``body``; BadRequest when it is not one."""
    message = ExportTraceServiceRequest()
    if protobuf:
        try:
            message.ParseFromString(body)
        except (DecodeError, RecursionError):
            raise BadRequest("The body is not an OTLP ExportTraceServiceRequest") from None
        return message
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The body is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON ExportTraceServiceRequest object")
    for span in _json_spans(data):
        _ids_as_base64(span)
        for link in span.get("links") or ():
            if isinstance(link, dict):
                _ids_as_base64(link)
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (json_format.ParseError, RecursionError, ValueError) as exc:
        raise BadRequest(f"Not an OTLP ExportTraceServiceRequest: {exc}"[:500]) from None
    return message


def _json_spans(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for resource in _list(data, "resourceSpans"):
        for scope in _list(resource, "scopeSpans"):
            for span in _list(scope, "spans"):
                if isinstance(span, dict):
                    yield span


def _list(parent: Any, key: str) -> list[Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, list) else []


def _ids_as_base64(holder: dict[str, Any]) -> None:
    """OTLP/JSON writes ids as hex (the protobuf JSON mapping reads bytes as base64)."""
    for key, size in _HEX.items():
        value = holder.get(key)
        if value is None or value == "":
            continue
        try:
            raw = bytes.fromhex(value) if isinstance(value, str) else b""
        except ValueError:
            raw = b""
        if len(raw) != size:
            raise BadRequest(
                f"'{key}' must be {2 * size} hexadecimal characters, got {str(value)[:80]!r}",
                param=key,
            )
        holder[key] = base64.b64encode(raw).decode()


@dataclass(frozen=True, slots=True)
class _Span:
    span: Span
    attributes: dict[str, Any]
    service: str | None


def calls(export: ExportTraceServiceRequest) -> Iterator[External]:
    """The export's LLM calls, in the order it lists them."""
    spans: dict[tuple[bytes, bytes], _Span] = {}
    for resource_spans in export.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        service = text(resource.get("service.name"), MAX_ID)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                seen = _Span(span, _attributes(span.attributes), service)
                spans[(bytes(span.trace_id), bytes(span.span_id))] = seen
    for seen in spans.values():
        if _is_llm(seen.attributes):
            yield _call(seen, spans)


def _is_llm(attributes: dict[str, Any]) -> bool:
    if attributes.get("openinference.span.kind") in _LLM_KINDS:
        return True
    return any(isinstance(attributes.get(key), str) for key in _MODEL_KEYS)


def _call(seen: _Span, spans: dict[tuple[bytes, bytes], _Span]) -> External:
    span, attrs = seen.span, seen.attributes
    trace_id, span_id = bytes(span.trace_id), bytes(span.span_id)
    model = _first_text(attrs, ("gen_ai.request.model", "llm.model_name"), MODEL_MAX_LENGTH)
    answered = text(attrs.get("gen_ai.response.model"), MODEL_MAX_LENGTH)
    provider = _provider(attrs)
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    timed = 0 < start <= end <= MAX_NANOS
    created = datetime.fromtimestamp(start / 1e9, UTC) if timed else datetime.now(UTC)
    status, error = _outcome(span, attrs)
    properties = _properties(attrs, seen.service)
    properties["otel.span_id"] = span_id.hex()
    if span.parent_span_id:
        properties["otel.parent_span_id"] = bytes(span.parent_span_id).hex()
    tags = Tags(
        user_id=_first_text(attrs, _USER_KEYS, MAX_ID),
        session_id=trace_id.hex() or None,
        session_path=_path(seen, spans),
        session_name=seen.service,
        properties=properties,
    )
    return External(
        request_id=_span_uuid(b"id", trace_id, span_id),
        record_uid=_span_uuid(b"record", trace_id, span_id),
        provider_name=provider,
        format=PLAIN,
        pricing_id=_PRICING.get(provider),
        path=PATH,
        model=model or answered,
        status=status,
        created_at=created,
        latency_ms=(end - start) / 1e6 if timed else 0.0,
        request_body=_request_body(attrs, model),
        response_body=_response_body(attrs, answered or model),
        stream=attrs.get("llm.is_streaming") is True or attrs.get("gen_ai.request.stream") is True,
        error=error,
        tags=tags,
        usage={name: _count(attrs, keys) for name, keys in _TOKENS.items()},
        response_model=answered,
    )


def _span_uuid(purpose: bytes, trace_id: bytes, span_id: bytes) -> str:
    """A UUID of the span's own: an export sent again (an exporter's retry) names the
    same records, which the store then keeps once (``store.base.settle_ids``)."""
    digest = hashlib.sha256(purpose + b":" + trace_id + span_id).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _attributes(pairs: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        found[pair.key] = _value(pair.value, 0)
    return found


def _value(value: AnyValue, depth: int) -> Any:
    kind = value.WhichOneof("value")
    if kind is None or depth > 8:
        return None
    if kind == "array_value":
        return [_value(item, depth + 1) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return bytes(value.bytes_value).hex()
    return getattr(value, kind)


def _first_text(attrs: dict[str, Any], keys: tuple[str, ...], limit: int) -> str | None:
    for key in keys:
        found = text(attrs.get(key), limit)
        if found is not None and found.isprintable():
            return found
    return None


def _provider(attrs: dict[str, Any]) -> str:
    name = (_first_text(attrs, _PROVIDER_KEYS, 64) or "otel").lower()
    return _CONVENTION_NAMES.get(name, name)


def _count(attrs: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _outcome(span: Span, attrs: dict[str, Any]) -> tuple[int, str | None]:
    http = attrs.get("http.response.status_code")
    failed = span.status.code == Status.STATUS_CODE_ERROR
    if not isinstance(http, int) or isinstance(http, bool) or not 100 <= http <= 599:
        http = None
    if http is not None and (http >= 400 or not failed):
        return http, (_error(span, attrs) if http >= 400 else None)
    if failed:
        return 500, _error(span, attrs)
    return 200, None


def _error(span: Span, attrs: dict[str, Any]) -> str:
    if span.status.message:
        return span.status.message[:MAX_PROPERTY_VALUE]
    for event in span.events:
        if event.name == "exception":
            message = text(_attributes(event.attributes).get("exception.message"), 4096)
            if message is not None:
                return message
    return text(attrs.get("error.type"), 4096) or "The span ended with an error status"


def _properties(attrs: dict[str, Any], service: str | None) -> dict[str, str]:
    """The call's properties: OpenLLMetry's association properties and OpenInference's
    ``metadata``, named as the proxy names ``Helicone-Property-*`` headers."""
    given: dict[str, Any] = {}
    metadata = attrs.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = orjson.loads(metadata)
        except orjson.JSONDecodeError:
            metadata = None
    if isinstance(metadata, dict):
        given.update(metadata)
    for key, value in attrs.items():
        if key.startswith(_ASSOCIATION):
            given[key.removeprefix(_ASSOCIATION)] = value
    if service is not None:
        given["service.name"] = service
    properties: dict[str, str] = {}
    for name, value in given.items():
        if len(properties) >= MAX_PROPERTIES - 2:  # room for the span ids
            break
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        key = _clean(property_name(str(name)), MAX_PROPERTY_NAME)
        if key:
            properties[key] = _clean(shown, MAX_PROPERTY_VALUE)
    return properties


def _path(seen: _Span, spans: dict[tuple[bytes, bytes], _Span]) -> str:
    names = [seen.span.name]
    visited = {bytes(seen.span.span_id)}
    span = seen.span
    while span.parent_span_id and len(names) < MAX_DEPTH:
        parent = spans.get((bytes(span.trace_id), bytes(span.parent_span_id)))
        if parent is None or bytes(parent.span.span_id) in visited:
            break
        visited.add(bytes(parent.span.span_id))
        span = parent.span
        names.append(span.name)
    segments = [_clean(name.replace("/", "-"), MAX_SEGMENT) or "span" for name in reversed(names)]
    path = "/" + "/".join(segments)
    while len(path) > MAX_PATH and len(segments) > 1:  # the call's own end is kept
        segments.pop(0)
        path = "/" + "/".join(segments)
    return path[:MAX_PATH]


def _clean(value: str, limit: int) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in value[:limit]).strip()


def _request_body(attrs: dict[str, Any], model: str | None) -> bytes | None:
    given = _raw_text(attrs, ("input.value", "gen_ai.input.messages"))
    if given is not None:
        return given.encode()
    messages = _messages(attrs, "gen_ai.prompt.", "llm.input_messages.")
    if not messages:
        return None
    return orjson.dumps({"model": model, "messages": messages})


def _response_body(attrs: dict[str, Any], model: str | None) -> bytes:
    given = _raw_text(attrs, ("output.value", "gen_ai.output.messages"))
    if given is not None:
        return given.encode()
    messages = _messages(attrs, "gen_ai.completion.", "llm.output_messages.")
    if not messages:
        return b""
    choices = [{"index": i, "message": message} for i, message in enumerate(messages)]
    return orjson.dumps({"model": model, "choices": choices})


def _raw_text(attrs: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _messages(attrs: dict[str, Any], *prefixes: str) -> list[dict[str, Any]]:
    """Messages flattened into indexed attributes: OpenLLMetry's ``gen_ai.prompt.0.role``,
    OpenInference's ``llm.input_messages.0.message.role``."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        for prefix in prefixes:
            if not key.startswith(prefix):
                continue
            index, _, field = key[len(prefix) :].partition(".")
            field = field.removeprefix("message.")
            if index.isdigit() and field and len(index) < 6:
                found.setdefault(int(index), {})[field] = value
    return [found[i] for i in sorted(found)]
