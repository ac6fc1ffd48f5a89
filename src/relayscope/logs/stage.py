"""The logging stage: the outermost stage, it sees every outcome and records it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson

from relayscope import metrics
from relayscope.context import Context, ProxyResponse
from relayscope.errors import GatewayError, error_response
from relayscope.governance.redaction import RedactionRules, redact_record
from relayscope.logs.capture import DEFAULT_LIMIT, BodyCapture, parse_captured
from relayscope.logs.cost import cost_usd
from relayscope.logs.record import LogRecord
from relayscope.logs.writer import LogWriter
from relayscope.types import CallNext

CLIENT_CLOSED = 499
"""Status logged for a request whose client left before any response (as nginx does)."""
UPSTREAM_WARNING = "RelayScope-Upstream-Warning"
"""Record property naming the fields of the provider's reply that were refused."""


class LoggingStage:
    def __init__(
        self,
        writer: LogWriter,
        redaction: RedactionRules | None = None,
        *,
        max_body_bytes: int = DEFAULT_LIMIT,
    ) -> None:
        self._writer = writer
        self._redaction = redaction
        self._max_body = max_body_bytes
        """Bytes of each body the log keeps (``RELAYSCOPE_LOG_MAX_BODY_BYTES``)."""

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        ctx.created_at = datetime.now(UTC)
        ctx.upstream_body = BodyCapture(self._max_body)
        try:
            response = await call_next(ctx)
        except GatewayError as exc:
            ctx.error = exc.message
            status, headers, body = error_response(exc)
            ctx.upstream_body.replace(body)
            ctx.upstream_stream = False
            response = ProxyResponse(status, headers, body=body)
        except asyncio.CancelledError:
            ctx.cancelled = True
            ctx.error = "client disconnected before the response started"
            self._submit(ctx, CLIENT_CLOSED, time.perf_counter(), None)
            raise
        if response.stream is None:
            self._submit(ctx, response.status, time.perf_counter(), None)
            return response
        response.stream = self._tee(ctx, response.status, response.stream)
        return response

    async def _tee(
        self, ctx: Context, status: int, stream: AsyncIterator[bytes]
    ) -> AsyncIterator[bytes]:
        first_chunk_at = None
        try:
            async for chunk in stream:
                if first_chunk_at is None:
                    first_chunk_at = time.perf_counter()
                yield chunk
        except (GeneratorExit, asyncio.CancelledError):
            ctx.cancelled = True
            ctx.error = ctx.error or "client disconnected before the response completed"
            raise
        except Exception as exc:
            ctx.error = ctx.error or f"{exc.__class__.__name__}: {exc}"
            raise
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            self._submit(ctx, status, time.perf_counter(), first_chunk_at)

    def _submit(self, ctx: Context, status: int, ended: float, first_chunk: float | None) -> None:
        latency_ms = (ended - ctx.started) * 1000
        ttft_ms = (first_chunk - ctx.started) * 1000 if first_chunk is not None else None
        redaction = self._redaction
        self._writer.submit(lambda: build_record(ctx, status, latency_ms, ttft_ms, redaction))


def build_record(
    ctx: Context,
    status: int,
    latency_ms: float,
    ttft_ms: float | None,
    redaction: RedactionRules | None = None,
) -> LogRecord:
    """The log record for a finished request (runs in the writer, not on the hot path)."""
    captured = ctx.upstream_body
    parsed = parse_captured(ctx.target.format, captured, stream=ctx.upstream_stream)
    provider = ctx.target.provider
    priced = provider is None or provider.pricing_id is not None
    cost = None
    if priced and status < 400:
        cost = cost_usd(
            provider.pricing_id if provider else None,
            parsed.model or ctx.model,
            input_tokens=parsed.prompt_tokens,
            output_tokens=parsed.completion_tokens,
            cache_read_tokens=parsed.cache_read_tokens,
            cache_write_tokens=parsed.cache_write_tokens,
        )
    cost_saved = None
    if ctx.cache_hit:
        # The replayed bytes price the original call: that is what the hit saved.
        cost_saved, cost = cost, 0.0
    error = ctx.error
    if error is None and status >= 400:
        error = _provider_error(parsed.body, status)
    tags = ctx.tags
    properties = tags.properties
    if parsed.notes:
        properties = {**properties, UPSTREAM_WARNING: str(parsed.notes)}
        metrics.UPSTREAM_FIELDS_REFUSED.labels(ctx.target.provider_name).inc()
    redact = redaction.for_org(ctx.org_id) if redaction else None
    limit = captured.limit
    request_body = None if ctx.omit_request else _capped_text(ctx.client_body, limit)
    response_body = None if ctx.omit_response else _as_text(parsed.body)
    if response_body is not None and captured.truncated and not ctx.upstream_stream:
        response_body += _marker(captured.size, limit)
    record = LogRecord(
        id=ctx.request_id,
        org_id=ctx.org_id,
        key_id=ctx.key_id,
        created_at=ctx.created_at or datetime.now(UTC),
        provider=ctx.target.provider_name,
        path=ctx.path,
        request_model=ctx.model,
        response_model=parsed.model,
        status=status,
        latency_ms=round(latency_ms, 3),
        ttft_ms=round(ttft_ms, 3) if ttft_ms is not None else None,
        prompt_tokens=parsed.prompt_tokens,
        completion_tokens=parsed.completion_tokens,
        total_tokens=parsed.total_tokens,
        cache_read_tokens=parsed.cache_read_tokens,
        cache_write_tokens=parsed.cache_write_tokens,
        cost_usd=cost,
        user_id=tags.user_id,
        session_id=tags.session_id,
        session_path=tags.session_path,
        session_name=tags.session_name,
        properties=properties,
        request_name=tags.request_name,
        stream=ctx.upstream_stream or ctx.wants_stream,
        cancelled=ctx.cancelled,
        attempts=ctx.attempts,
        fallback_index=ctx.fallback_index,
        cache_hit=ctx.cache_hit,
        cache_source_id=ctx.cache_source_id,
        cache_similarity=ctx.cache_similarity,
        cost_saved_usd=cost_saved,
        prompt_id=ctx.prompt_id,
        prompt_version=ctx.prompt_version,
        prompt_variables=ctx.prompt_variables,
        rate_limited=ctx.rate_limited,
        error=error,
        request_body=request_body,
        response_body=response_body,
        record_uid=ctx.record_uid or str(uuid.uuid4()),
        warnings=list(ctx.warnings),
        request_body_bytes=len(ctx.client_body) if len(ctx.client_body) > limit else None,
        response_body_bytes=captured.size if captured.truncated else None,
    )
    if redact:
        redact_record(record, redact)
    return record.without_nul()


def _provider_error(body: object, status: int) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
    return f"provider answered HTTP {status}"


def _as_text(body: object) -> str | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body
    return orjson.dumps(body).decode()


def _capped_text(body: bytes, limit: int) -> str:
    if len(body) <= limit:
        return body.decode("utf-8", "replace")
    # "ignore": the cut may split a character, which is no reason for a U+FFFD.
    return body[:limit].decode("utf-8", "ignore") + _marker(len(body), limit)


def _marker(size: int, limit: int) -> str:
    return f"\n[RelayScope: body truncated, first {limit} of {size} bytes logged]"
