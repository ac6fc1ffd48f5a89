"""``POST /v1/traces``: OpenTelemetry GenAI spans become request records.

The real ``opentelemetry-sdk`` makes the spans, as OpenLLMetry and OpenInference
instrumentations set their attributes, and the real OTLP/HTTP exporter
(``opentelemetry-exporter-otlp-proto-http``) sends them, protobuf and gzip, to an
in-process gateway; a JSON export goes by raw HTTP.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from google.protobuf import json_format
from google.rpc import code_pb2
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace import Status as SpanStatus

from relayscope.logs.cost import cost_usd
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.waiting import wait_until

from .conftest import gateway_session

QUESTION = "Which plan includes SSO?"
ANSWER = "The Enterprise plan."


def traced_app(service: str) -> tuple[list[ReadableSpan], dict[str, int]]:
    """An application's trace: a workflow span, a retrieval (no LLM), an OpenAI call
    as OpenLLMetry records it and an Anthropic call as OpenInference records it, which
    failed. Returns the finished spans and their span ids by name."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("support-bot")
    with tracer.start_as_current_span("answer ticket"):
        with tracer.start_as_current_span("retrieve docs"):
            pass
        with tracer.start_as_current_span("openai.chat", kind=SpanKind.CLIENT) as chat:
            chat.set_attributes(
                {
                    "llm.request.type": "chat",
                    "gen_ai.system": "OpenAI",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                    "gen_ai.usage.prompt_tokens": 2000,
                    "gen_ai.usage.completion_tokens": 300,
                    "gen_ai.prompt.0.role": "user",
                    "gen_ai.prompt.0.content": QUESTION,
                    "gen_ai.completion.0.role": "assistant",
                    "gen_ai.completion.0.content": ANSWER,
                    "traceloop.association.properties.user_id": "bob",
                    "traceloop.association.properties.tenant": "acme",
                }
            )
        with tracer.start_as_current_span("ChatAnthropic") as failed:
            failed.set_attributes(
                {
                    "openinference.span.kind": "LLM",
                    "llm.provider": "anthropic",
                    "llm.model_name": "claude-3-5-haiku-20241022",
                    "llm.token_count.prompt": 50,
                    "llm.token_count.completion": 0,
                    "input.value": orjson.dumps({"messages": [QUESTION]}).decode(),
                    "user.id": "carol",
                }
            )
            failed.set_status(SpanStatus(StatusCode.ERROR, "overloaded_error: Overloaded"))
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    return spans, {span.name: span.context.span_id for span in spans}


def session_records(gw: AsgiGateway, org: OrgKey, trace_id: str, count: int) -> list[dict]:
    """The org's records of the trace, once ``count`` are stored, with their bodies."""
    with gw.api(org) as api:

        def listed() -> list[dict] | None:
            found = api.get("/api/requests", params={"session_id": trace_id}).json()["data"]
            return found if len(found) >= count else None

        rows = wait_until(listed, timeout=10)
        return [api.get(f"/api/requests/{row['id']}").json()["data"] for row in rows]


def by_model(records: list[dict]) -> dict[str, dict]:
    return {record["request_model"]: record for record in records}


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_the_otlp_exporter_logs_each_llm_span_as_a_record_of_its_trace_session(
    gw: AsgiGateway, app_key: OrgKey, compression: Compression
):
    spans, span_ids = traced_app("support-bot")
    exporter = OTLPSpanExporter(
        endpoint=f"{gw.url}/v1/traces",
        headers=app_key.bearer,
        session=gateway_session(gw),
        compression=compression,
    )
    assert exporter.export(spans) == SpanExportResult.SUCCESS
    exporter.shutdown()

    trace_id = format(spans[0].context.trace_id, "032x")
    records = by_model(session_records(gw, app_key, trace_id, 2))
    # The workflow and the retrieval made no records: only the two LLM calls did.
    assert set(records) == {"gpt-4o-mini", "claude-3-5-haiku-20241022"}

    chat = records["gpt-4o-mini"]
    span = next(s for s in spans if s.name == "openai.chat")
    assert (chat["provider"], chat["response_model"]) == ("openai", "gpt-4o-mini-2024-07-18")
    assert (chat["prompt_tokens"], chat["completion_tokens"]) == (2000, 300)
    expected = cost_usd("openai", "gpt-4o-mini-2024-07-18", input_tokens=2000, output_tokens=300)
    assert expected and chat["cost_usd"] == pytest.approx(expected)
    assert chat["latency_ms"] == pytest.approx((span.end_time - span.start_time) / 1e6, abs=0.01)
    assert (chat["status"], chat["error"]) == (200, None)
    assert chat["session_id"] == trace_id
    assert chat["session_path"] == "/answer ticket/openai.chat"
    assert chat["session_name"] == "support-bot"
    assert chat["user_id"] == "bob"
    assert chat["properties"]["tenant"] == "acme"
    assert chat["properties"]["otel.span_id"] == format(span_ids["openai.chat"], "016x")
    assert chat["properties"]["otel.parent_span_id"] == format(span_ids["answer ticket"], "016x")
    assert chat["request_body"]["messages"] == [{"role": "user", "content": QUESTION}]
    assert chat["response_body"]["choices"][0]["message"]["content"] == ANSWER
    assert chat["key_id"] == app_key.key_id

    failed = records["claude-3-5-haiku-20241022"]
    assert failed["provider"] == "anthropic"
    assert (failed["prompt_tokens"], failed["completion_tokens"]) == (50, 0)
    assert (failed["status"], failed["error"]) == (500, "overloaded_error: Overloaded")
    assert failed["session_path"] == "/answer ticket/ChatAnthropic"
    assert failed["request_body"] == {"messages": [QUESTION]}
    assert failed["user_id"] == "carol"


def json_export(trace_id: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "batch-job"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [{"traceId": trace_id, "kind": 3, **span} for span in spans],
                    }
                ],
            }
        ]
    }


def attribute(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


TRACE = "5b8efff798038103d269b633813fc60c"
ROOT, CALL, OTHER = "eee19b7ec3c1b174", "eee19b7ec3c1b173", "eee19b7ec3c1b172"


def test_a_json_export_by_raw_http_logs_its_gen_ai_spans(gw: AsgiGateway, app_key: OrgKey):
    start = 1_767_000_000_000_000_000
    spans = [
        {
            "spanId": ROOT,
            "name": "nightly summaries",
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + 9_000_000_000),
        },
        {
            "spanId": CALL,
            "parentSpanId": ROOT,
            "name": "chat gpt-4o",
            "startTimeUnixNano": str(start + 1_000_000_000),
            "endTimeUnixNano": str(start + 2_500_000_000),
            "attributes": [
                attribute("gen_ai.operation.name", "chat"),
                attribute("gen_ai.provider.name", "openai"),
                attribute("gen_ai.request.model", "gpt-4o"),
                attribute("gen_ai.usage.input_tokens", 1000),
                attribute("gen_ai.usage.output_tokens", 100),
            ],
        },
        {
            "spanId": OTHER,
            "parentSpanId": ROOT,
            "name": "write file",
            "startTimeUnixNano": str(start + 3_000_000_000),
            "endTimeUnixNano": str(start + 4_000_000_000),
            "attributes": [attribute("file.path", "/tmp/out")],
        },
    ]
    with gw.http(app_key.auth) as client:  # Helicone-Auth works too
        response = client.post("/v1/traces", json=json_export(TRACE, spans))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}

    (record,) = session_records(gw, app_key, TRACE, 1)
    assert (record["provider"], record["request_model"]) == ("openai", "gpt-4o")
    assert (record["prompt_tokens"], record["completion_tokens"]) == (1000, 100)
    expected = cost_usd("openai", "gpt-4o", input_tokens=1000, output_tokens=100)
    assert expected and record["cost_usd"] == pytest.approx(expected)
    assert record["latency_ms"] == pytest.approx(1500)
    assert record["created_at"].startswith("2025-12-29T09:20:01")
    assert record["session_path"] == "/nightly summaries/chat gpt-4o"
    assert record["session_name"] == "batch-job"


def test_an_export_sent_again_logs_each_span_once(gw: AsgiGateway, app_key: OrgKey):
    """An exporter retries an export it got no answer for: the records are named by
    their trace and span ids, so the second copy is a replay the store keeps once, and
    a score posted by that id reaches the record."""
    span = {
        "spanId": CALL,
        "name": "chat",
        "startTimeUnixNano": "1767000000000000000",
        "endTimeUnixNano": "1767000001000000000",
        "attributes": [attribute("gen_ai.request.model", "gpt-4o-mini")],
    }
    trace = "0af7651916cd43dd8448eb211c80319c"
    export = json_export(trace, [span])
    with gw.http(app_key.bearer) as client:
        assert client.post("/v1/traces", json=export).status_code == 200
        (first,) = session_records(gw, app_key, trace, 1)
        assert client.post("/v1/traces", json=export).status_code == 200
        gw.run(gw.gateway.writer.drain(timeout=10))
        listed = client.get("/api/requests", params={"session_id": trace}).json()["data"]
        assert [row["id"] for row in listed] == [first["id"]]
        scored = client.post(f"/v1/request/{first['id']}/score", json={"scores": {"ok": True}})
        assert scored.status_code == 200, scored.text
        # The same span id in another trace is another call.
        other = "1af7651916cd43dd8448eb211c80319c"
        assert client.post("/v1/traces", json=json_export(other, [span])).status_code == 200
    (second,) = session_records(gw, app_key, other, 1)
    assert second["id"] != first["id"]


def test_openinference_messages_metadata_and_cached_tokens(gw: AsgiGateway, app_key: OrgKey):
    """OpenInference flattens messages into ``llm.input_messages.N.message.*`` and keeps
    its metadata as JSON text; a convention name (``az.ai.openai``) is the registry's."""
    trace = "4af7651916cd43dd8448eb211c80319c"
    span = {
        "spanId": CALL,
        "name": "AzureChatOpenAI",
        "startTimeUnixNano": "1767000000000000000",
        "endTimeUnixNano": "1767000000400000000",
        "attributes": [
            attribute("openinference.span.kind", "LLM"),
            attribute("llm.system", "az.ai.openai"),
            attribute("llm.model_name", "gpt-4o"),
            attribute("llm.token_count.prompt", 3000),
            attribute("llm.token_count.completion", 10),
            attribute("llm.token_count.prompt_details.cache_read", 2048),
            attribute("llm.input_messages.0.message.role", "system"),
            attribute("llm.input_messages.0.message.content", "Be brief."),
            attribute("llm.input_messages.1.message.role", "user"),
            attribute("llm.input_messages.1.message.content", QUESTION),
            attribute("llm.output_messages.0.message.role", "assistant"),
            attribute("llm.output_messages.0.message.content", ANSWER),
            attribute("metadata", orjson.dumps({"Tenant": "acme", "tier": 2}).decode()),
        ],
    }
    with gw.http(app_key.bearer) as client:
        assert client.post("/v1/traces", json=json_export(trace, [span])).status_code == 200
    (record,) = session_records(gw, app_key, trace, 1)
    assert (record["provider"], record["request_model"]) == ("azure", "gpt-4o")
    assert (record["prompt_tokens"], record["cache_read_tokens"]) == (3000, 2048)
    expected = cost_usd(
        "azure", "gpt-4o", input_tokens=3000, output_tokens=10, cache_read_tokens=2048
    )
    assert expected and record["cost_usd"] == pytest.approx(expected)
    assert record["request_body"]["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": QUESTION},
    ]
    assert record["response_body"]["choices"][0]["message"]["content"] == ANSWER
    assert (record["properties"]["tenant"], record["properties"]["tier"]) == ("acme", "2")
    assert record["latency_ms"] == pytest.approx(400)


def test_a_span_timed_out_of_range_is_logged_at_its_arrival(gw: AsgiGateway, app_key: OrgKey):
    trace = "3af7651916cd43dd8448eb211c80319c"
    span = {
        "spanId": CALL,
        "name": "chat",
        "startTimeUnixNano": str(2**64 - 2),
        "endTimeUnixNano": str(2**64 - 1),
        "attributes": [attribute("gen_ai.request.model", "gpt-4o-mini")],
    }
    before = datetime.now(UTC)
    with gw.http(app_key.bearer) as client:
        response = client.post("/v1/traces", json=json_export(trace, [span]))
    assert response.status_code == 200, response.text
    (record,) = session_records(gw, app_key, trace, 1)
    assert datetime.fromisoformat(record["created_at"]) >= before
    assert record["latency_ms"] == 0


def test_an_export_of_no_llm_span_is_accepted_and_logs_nothing(gw: AsgiGateway, app_key: OrgKey):
    trace = "2af7651916cd43dd8448eb211c80319c"
    span = {"spanId": ROOT, "name": "GET /health", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}
    with gw.http(app_key.bearer) as client:
        response = client.post("/v1/traces", json=json_export(trace, [span]))
        assert response.status_code == 200 and response.json() == {}
        listed = client.get("/api/requests", params={"session_id": trace}).json()["data"]
    assert listed == []


BAD_EXPORTS = {
    "protobuf that is not an export": (b"\xff\xff\xff", "application/x-protobuf", 400),
    "JSON that is not JSON": (b"{", "application/json", 400),
    "JSON that is not an object": (b"[]", "application/json", 400),
    "a trace id that is not hex": (
        orjson.dumps(json_export("zz" * 16, [{"spanId": ROOT, "name": "x"}])),
        "application/json",
        400,
    ),
    "a span id of the wrong length": (
        orjson.dumps(json_export(TRACE, [{"spanId": "abcd", "name": "x"}])),
        "application/json",
        400,
    ),
    "a field of the wrong type": (
        orjson.dumps(json_export(TRACE, [{"spanId": ROOT, "name": 7}])),
        "application/json",
        400,
    ),
    "another media type": (b"traces", "text/plain", 415),
}


def rpc_status(response: httpx.Response) -> Status:
    """The ``google.rpc.Status`` an error answer carries, decoded in its encoding."""
    media = response.headers["content-type"]
    if media == "application/json":
        return json_format.Parse(response.content, Status())
    assert media == "application/x-protobuf", media
    return Status.FromString(response.content)


@pytest.mark.parametrize("case", BAD_EXPORTS)
def test_a_bad_export_is_a_4xx_with_an_rpc_status(gw: AsgiGateway, app_key: OrgKey, case: str):
    body, media, status = BAD_EXPORTS[case]
    with gw.http(app_key.bearer) as client:
        response = client.post("/v1/traces", content=body, headers={"content-type": media})
    assert response.status_code == status, response.text
    # JSON in, JSON out; protobuf (or anything else) in, protobuf out.
    expected_media = "application/json" if media == "application/json" else "application/x-protobuf"
    assert response.headers["content-type"] == expected_media
    answer = rpc_status(response)
    assert answer.code == code_pb2.INVALID_ARGUMENT
    assert answer.message and "Traceback" not in answer.message
    if status == 415:
        assert "application/x-protobuf or application/json" in answer.message


def test_a_compressed_export_past_the_body_limit_is_a_413(gw: AsgiGateway, app_key: OrgKey):
    bomb = gzip.compress(b" " * (2 * 1024 * 1024))  # a few KB that inflate past 256 KiB
    headers = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}
    with gw.http(app_key.bearer) as client:
        response = client.post("/v1/traces", content=bomb, headers=headers)
        broken = client.post("/v1/traces", content=b"not gzip", headers=headers)
        brotli = client.post(
            "/v1/traces", content=b"x", headers={**headers, "content-encoding": "br"}
        )
    assert response.status_code == 413
    too_large = rpc_status(response)
    assert too_large.code == code_pb2.RESOURCE_EXHAUSTED and "limit" in too_large.message
    assert broken.status_code == 400
    assert rpc_status(broken).code == code_pb2.INVALID_ARGUMENT
    assert brotli.status_code == 415
    assert "Content-Encoding" in rpc_status(brotli).message


def test_a_body_past_the_limit_before_decoding_is_a_413_status(gw: AsgiGateway, app_key: OrgKey):
    """Refused by the body limit before the route runs: still a ``Status``."""
    with gw.http(app_key.bearer) as client:
        response = client.post(
            "/v1/traces",
            content=b"\0" * (gw.settings.max_body_bytes + 1),
            headers={"content-type": "application/x-protobuf"},
        )
    assert response.status_code == 413
    assert rpc_status(response).code == code_pb2.RESOURCE_EXHAUSTED


def test_traces_need_a_gateway_key(gw: AsgiGateway):
    with gw.http() as client:
        as_json = client.post("/v1/traces", json=json_export(TRACE, []))
        as_protobuf = client.post(
            "/v1/traces",
            content=ExportTraceServiceRequest().SerializeToString(),
            headers={"content-type": "application/x-protobuf"},
        )
    assert as_json.status_code == as_protobuf.status_code == 401
    assert rpc_status(as_json).code == rpc_status(as_protobuf).code == code_pb2.UNAUTHENTICATED
    assert "Authorization" in rpc_status(as_protobuf).message


def test_a_wrong_method_is_a_405_status(gw: AsgiGateway, app_key: OrgKey):
    with gw.http(app_key.bearer) as client:
        response = client.get("/v1/traces")
    assert response.status_code == 405
    assert rpc_status(response).code == code_pb2.UNIMPLEMENTED


def test_the_otlp_exporter_takes_a_refusal_as_final(gw: AsgiGateway):
    """The real exporter, with a key the gateway does not know: one request, refused
    with a 401 and a protobuf ``Status``, and the export fails without a retry (OTLP
    retries only 429, 502, 503 and 504)."""
    spans, _ids = traced_app("refused")
    sent = []
    session = gateway_session(gw)
    session.hooks["response"].append(lambda response, **_kw: sent.append(response))
    exporter = OTLPSpanExporter(
        endpoint=f"{gw.url}/v1/traces",
        headers={"Authorization": "Bearer sk-relayscope-unknown"},
        session=session,
    )
    assert exporter.export(spans) == SpanExportResult.FAILURE
    exporter.shutdown()
    [response] = sent
    assert response.status_code == 401
    assert Status.FromString(response.content).code == code_pb2.UNAUTHENTICATED
