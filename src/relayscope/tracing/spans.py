"""One OpenTelemetry span per proxied request, made from its log record.

Spans follow the OpenTelemetry GenAI semantic conventions (``gen_ai.*``). They are
built in the log writer from the finished record, with the request's own start
time and latency, so tracing costs the request path nothing. Bodies are not
exported (the conventions make content capture opt-in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from relayscope.record import LogRecord
from relayscope.tracing.settings import TracingSettings

# gen_ai.system values the conventions define, for the providers that have one.
_SYSTEMS = {
    "azure": "az.ai.openai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "xai": "xai",
}
_REQUEST_PARAMS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}


def operation(path: str) -> str:
    """gen_ai.operation.name for a proxied path."""
    if path.endswith(("/chat/completions", "/messages")):
        return "chat"
    if path.endswith("/completions"):
        return "text_completion"
    if path.endswith("/embeddings"):
        return "embeddings"
    return "generate_content"


def attributes(record: LogRecord) -> dict[str, Any]:
    """The span attributes of ``record``: GenAI conventions, then RelayScope's own."""
    system = _SYSTEMS.get(record.provider, record.provider)
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": operation(record.path),
        "gen_ai.system": system,
        "gen_ai.provider.name": system,
        "http.response.status_code": record.status,
        "url.path": record.path,
        "relayscope.request_id": record.id,
        "relayscope.org_id": record.org_id,
        "relayscope.stream": record.stream,
        "relayscope.cache_hit": record.cache_hit,
    }
    optional = {
        "gen_ai.request.model": record.request_model,
        "gen_ai.response.model": record.response_model,
        "gen_ai.usage.input_tokens": record.prompt_tokens,
        "gen_ai.usage.output_tokens": record.completion_tokens,
        "gen_ai.conversation.id": record.session_id,
        "relayscope.user_id": record.user_id,
        "relayscope.session_path": record.session_path,
        "relayscope.request_name": record.request_name,
        "relayscope.cost_usd": record.cost_usd,
        "relayscope.ttft_ms": record.ttft_ms,
    }
    attrs.update({k: v for k, v in optional.items() if v is not None})
    request = _json(record.request_body)
    for param, name in _REQUEST_PARAMS.items():
        value = request.get(param)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[name] = value
    response = _json(record.response_body)
    if isinstance(response.get("id"), str):
        attrs["gen_ai.response.id"] = response["id"]
    reasons = _finish_reasons(response)
    if reasons:
        attrs["gen_ai.response.finish_reasons"] = reasons
    if not record.success:
        attrs["error.type"] = "cancelled" if record.cancelled else str(record.status)
    return attrs


class SpanRecorder:
    """A log-writer observer that turns each record into a finished span."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._tracer = provider.get_tracer("relayscope")

    def __call__(self, record: LogRecord) -> None:
        start = int(record.created_at.timestamp() * 1e9)
        model = record.request_model
        name = operation(record.path) + (f" {model}" if model else "")
        span = self._tracer.start_span(
            name, kind=SpanKind.CLIENT, start_time=start, attributes=attributes(record)
        )
        if not record.success:
            span.set_status(Status(StatusCode.ERROR, record.error))
        span.end(end_time=start + int(record.latency_ms * 1e6))

    def shutdown(self) -> None:
        """Flush what is buffered and stop the exporter (blocking: run it in a thread)."""
        self.provider.shutdown()


def otlp_recorder(settings: TracingSettings) -> SpanRecorder:
    """A recorder exporting over OTLP/HTTP in batches, from the exporter's own thread."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    exporter = OTLPSpanExporter(endpoint=settings.endpoint or None)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return SpanRecorder(provider)


def _json(text: str | None) -> Mapping[str, Any]:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _finish_reasons(response: Mapping[str, Any]) -> list[str]:
    if isinstance(response.get("stop_reason"), str):
        return [response["stop_reason"]]
    choices = response.get("choices")
    if not isinstance(choices, list):
        return []
    return [c["finish_reason"] for c in choices if isinstance(c, dict) and c.get("finish_reason")]
