"""A span per proxied request, GenAI semantic conventions: in-memory, and exported by a gateway."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from relayscope.record import LogRecord
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until
from relayscope.tracing.spans import SpanRecorder

STARTED = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def recorded():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield SpanRecorder(provider), exporter
    provider.shutdown()


def record(**fields) -> LogRecord:
    values = {
        "id": str(uuid.uuid4()),
        "org_id": "org-1",
        "created_at": STARTED,
        "provider": "openai",
        "path": "/openai/v1/chat/completions",
        "request_model": "gpt-4o-mini",
        "response_model": "gpt-4o-mini-2024-07-18",
        "status": 200,
        "latency_ms": 1250.0,
        "prompt_tokens": 12,
        "completion_tokens": 30,
        "request_body": '{"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 64}',
        "response_body": '{"id": "chatcmpl-1", "choices": [{"finish_reason": "stop"}]}',
    }
    values.update(fields)
    return LogRecord(**values)


def test_a_chat_request_becomes_a_genai_client_span(recorded):
    recorder, exporter = recorded
    chat = record(session_id="s-1", user_id="ada", cost_usd=0.0001)
    recorder(chat)
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o-mini" and span.kind is SpanKind.CLIENT
    assert span.start_time == int(STARTED.timestamp() * 1e9)
    assert span.end_time - span.start_time == 1_250_000_000
    attrs = dict(span.attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.system"] == attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert attrs["gen_ai.usage.input_tokens"] == 12
    assert attrs["gen_ai.usage.output_tokens"] == 30
    assert attrs["gen_ai.request.temperature"] == 0.2
    assert attrs["gen_ai.request.max_tokens"] == 64
    assert attrs["gen_ai.response.id"] == "chatcmpl-1"
    assert tuple(attrs["gen_ai.response.finish_reasons"]) == ("stop",)
    assert attrs["gen_ai.conversation.id"] == "s-1"
    assert attrs["relayscope.request_id"] == chat.id
    assert span.status.status_code is StatusCode.UNSET
    assert not any("body" in name for name in attrs), "bodies are never exported"


def test_failures_and_other_operations(recorded):
    recorder, exporter = recorded
    recorder(record(status=500, error="upstream exploded", response_body=None))
    recorder(
        record(
            provider="anthropic",
            path="/anthropic/v1/messages",
            request_model="claude-3-5-haiku-latest",
            response_body='{"id": "msg_1", "stop_reason": "end_turn"}',
        )
    )
    recorder(record(path="/openai/v1/embeddings", request_model="text-embedding-3-small"))
    recorder(record(provider="azure", cancelled=True, status=200))
    failed, claude, embed, cancelled = exporter.get_finished_spans()
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "upstream exploded"
    assert failed.attributes["error.type"] == "500"
    assert claude.attributes["gen_ai.system"] == "anthropic"
    assert tuple(claude.attributes["gen_ai.response.finish_reasons"]) == ("end_turn",)
    assert embed.name == "embeddings text-embedding-3-small"
    assert cancelled.attributes["gen_ai.system"] == "az.ai.openai"
    assert cancelled.attributes["error.type"] == "cancelled"


class Collector:
    """An OTLP/HTTP traces receiver on loopback (protobuf), keeping every span it gets."""

    def __init__(self) -> None:
        self.spans: list = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    service = {a.key: a.value.string_value for a in resource.resource.attributes}
                    for scope in resource.scope_spans:
                        owner.spans += [(service, span) for span in scope.spans]
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_gateway_exports_one_span_per_request_over_otlp(tmp_path, fake_server, monkeypatch):
    collector = Collector()
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_OTEL_ENABLED": "true",
        "RELAYSCOPE_OTEL_ENDPOINT": collector.url,
        "RELAYSCOPE_OTEL_SERVICE_NAME": "gateway-under-test",
    }
    # Read by OpenTelemetry's span processor itself, from the process environment.
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    try:
        with AsgiGateway(tmp_path, env) as gateway:
            org = gateway.new_org()
            with openai.OpenAI(
                base_url=f"{gateway.url}/openai/v1",
                api_key="sk-test",
                default_headers=org.auth,
                http_client=gateway.sdk_http(),
            ) as sdk:
                raw = sdk.chat.completions.with_raw_response.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "trace me"}]
                )
            reply = raw.parse()
            service, span = wait_until(lambda: collector.spans, timeout=10)[0]
        assert len(collector.spans) == 1
        assert service["service.name"] == "gateway-under-test"
        attrs = {a.key: a.value for a in span.attributes}
        assert span.name == "chat gpt-4o-mini"
        assert attrs["relayscope.request_id"].string_value == raw.headers["helicone-id"]
        assert attrs["gen_ai.response.model"].string_value == reply.model
        assert attrs["gen_ai.usage.input_tokens"].int_value == reply.usage.prompt_tokens
        assert attrs["gen_ai.usage.output_tokens"].int_value == reply.usage.completion_tokens
        assert attrs["gen_ai.response.id"].string_value == reply.id
    finally:
        collector.close()
