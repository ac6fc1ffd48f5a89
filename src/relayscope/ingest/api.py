"""Logging without the proxy.

``POST /custom/v1/log``      Helicone's custom-logging body (``ingest.custom``); also at
                             ``/oai/v1/log`` and ``/anthropic/v1/log``, Helicone's paths
                             for calls to those providers. 200 ``{"data": {"id"},
                             "error": null}`` and the ``Helicone-Id`` header.
``POST /v1/traces``          OTLP/HTTP traces, protobuf or JSON, gzip or not
                             (``ingest.otlp``); answered with an
                             ``ExportTraceServiceResponse`` in the request's encoding.

Either takes a gateway key of any role, in ``Authorization: Bearer`` (what Helicone's
loggers and OTLP exporters send) or ``Helicone-Auth``: logging a call is what an
application does, as proxying one is. The records are journaled and queued on the
log writer exactly as proxied requests' are.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relayscope.api.requests import json_response
from relayscope.api.services import api_services, available
from relayscope.auth.keys import Principal
from relayscope.errors import BadRequest, GatewayError, PayloadTooLarge
from relayscope.ingest import custom, otlp
from relayscope.ingest.records import External, record_inputs
from relayscope.logs.stage import RecordInputs, journal_inputs, record_builder
from relayscope.providers.registry import Provider, ProviderRegistry

MAX_SPAN_RECORDS = 10_000
"""LLM calls one export may log; OTLP's partial success reports the rest as rejected."""
_PROTOBUF = ("application/x-protobuf", "application/protobuf")
_REGISTRY = ProviderRegistry()
_LOG_PATHS: dict[str, Provider | None] = {
    "/custom/v1/log": None,
    "/oai/v1/log": _REGISTRY.get("openai"),
    "/anthropic/v1/log": _REGISTRY.get("anthropic"),
}
PATHS = frozenset({*_LOG_PATHS, otlp.PATH})
"""The gateway sends these paths here, not to the proxy."""


class UnsupportedMediaType(GatewayError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


async def caller(request: Request) -> Principal:
    """The key in ``Authorization``, or else in ``Helicone-Auth``."""
    keys = api_services(request).keys
    headers = request.headers
    if "authorization" in headers or "helicone-auth" not in headers:
        return await keys.resolve(headers.get("authorization"), "Authorization")
    return await keys.resolve(headers.get("helicone-auth"), "Helicone-Auth")


class _Logger:
    """Journals records off the event loop (their bodies may weigh megabytes), then
    queues them on the log writer, on the loop: what the logging stage does with a
    proxied request's (``logs.stage.journal_inputs``, ``record_builder``)."""

    def __init__(self, request: Request, who: Principal, body_limit: int) -> None:
        services = api_services(request)
        self.writer = available(services.writer, "Logging")
        self.redaction = services.governance.rules if services.governance is not None else None
        self.who = who
        self.body_limit = body_limit

    def journaled(self, known: External) -> RecordInputs:
        """Runs on a worker thread."""
        inputs = record_inputs(self.who, known, self.body_limit)
        journal_inputs(self.writer.journal, inputs)
        return inputs

    def submit(self, inputs: RecordInputs) -> None:
        self.writer.submit(record_builder(inputs, self.redaction, self.writer.journal))


def routes(*, max_body_bytes: int, log_max_body_bytes: int) -> list[Route]:
    """The routes; request bodies are taken up to ``max_body_bytes`` (the proxy's own
    limit, once decompressed), and the log keeps ``log_max_body_bytes`` of each body."""

    def custom_log(provider: Provider | None) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            logger = _Logger(request, await caller(request), log_max_body_bytes)
            raw, headers = await request.body(), dict(request.headers)

            def read() -> RecordInputs:
                return logger.journaled(custom.parse(raw, headers, provider))

            inputs = await asyncio.to_thread(read)
            logger.submit(inputs)
            return _logged(inputs["request_id"])

        return endpoint

    async def traces(request: Request) -> Response:
        logger = _Logger(request, await caller(request), log_max_body_bytes)
        media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media not in (*_PROTOBUF, "application/json"):
            raise UnsupportedMediaType(
                "OTLP/HTTP takes application/x-protobuf or application/json, "
                f"not {media or 'no Content-Type'!r}"
            )
        protobuf = media != "application/json"
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        raw = await request.body()

        def read() -> tuple[list[RecordInputs], int]:
            body = _decoded(encoding, raw, max_body_bytes)
            calls = list(otlp.calls(otlp.decode(body, protobuf)))
            kept = [logger.journaled(known) for known in calls[:MAX_SPAN_RECORDS]]
            return kept, len(calls) - len(kept)

        found, rejected = await asyncio.to_thread(read)
        for inputs in found:
            logger.submit(inputs)
        reply = ExportTraceServiceResponse()
        if rejected:
            reply.partial_success.rejected_spans = rejected
            reply.partial_success.error_message = (
                f"one export logs at most {MAX_SPAN_RECORDS} LLM spans; send smaller batches"
            )
        if protobuf:
            return Response(reply.SerializeToString(), media_type="application/x-protobuf")
        return Response(_reply_json(reply), media_type="application/json")

    return [
        *(Route(path, custom_log(p), methods=["POST"]) for path, p in _LOG_PATHS.items()),
        Route(otlp.PATH, traces, methods=["POST"]),
    ]


def _logged(request_id: str) -> Response:
    response = json_response({"data": {"id": request_id}, "error": None})
    response.headers["helicone-id"] = request_id
    return response


def _reply_json(reply: ExportTraceServiceResponse) -> bytes:
    if not reply.HasField("partial_success"):
        return b"{}"
    partial = reply.partial_success
    return orjson.dumps(
        {
            "partialSuccess": {
                "rejectedSpans": str(partial.rejected_spans),
                "errorMessage": partial.error_message,
            }
        }
    )


def _decoded(encoding: str, body: bytes, limit: int) -> bytes:
    """``body`` without its ``Content-Encoding`` (gzip, deflate or none), at most
    ``limit`` bytes."""
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none"
        )
    inflate = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # 32: gzip or zlib header
    try:
        data = inflate.decompress(body, limit + 1)
    except zlib.error:
        raise BadRequest(f"The body is not valid {encoding} data") from None
    if len(data) > limit or inflate.unconsumed_tail:
        raise PayloadTooLarge(f"The decompressed body is larger than the limit of {limit} bytes")
    return data
