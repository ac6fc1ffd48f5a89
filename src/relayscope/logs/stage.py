"""The logging stage: the outermost stage, it sees every outcome and records it.

When a request ends, the stage takes what its record is built from (``RecordInputs``)
and, before the response's last byte goes out, appends it to the crash journal
(``logs/journal.py``); the record itself is built later, in the writer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict, cast

import orjson

from relayscope import metrics
from relayscope.capture import DEFAULT_LIMIT, BodyCapture, parse_captured
from relayscope.context import Context, ProxyResponse
from relayscope.errors import GatewayError, error_response
from relayscope.governance.redaction import RedactionRules, redact_record
from relayscope.ids import random_uuid
from relayscope.logs.bodies import binary_marker, is_binary, is_multipart, multipart_summary
from relayscope.logs.journal import Journal
from relayscope.logs.price import logged_model, priced, pricing_id, upstream_price
from relayscope.logs.writer import Builder, LogWriter
from relayscope.providers.formats import Parsed, body_format
from relayscope.providers.formats.fields import TOKEN_LIMIT
from relayscope.record import LogRecord
from relayscope.types import CallNext, Stage

if TYPE_CHECKING:
    from relayscope.config import Settings
    from relayscope.pipeline import Services

log = logging.getLogger("relayscope.logs")

CLIENT_CLOSED = 499
"""Status logged for a request whose client left before any response (as nginx does)."""
UPSTREAM_WARNING = "relayscope-upstream-warning"
"""Record property naming the fields of the provider's reply that were refused."""

JOURNAL_OFF_LOOP_BYTES = 256 * 1024
"""Requests whose bodies weigh more are journaled on a worker thread, not the loop."""


class LoggingStage(Stage):
    def __init__(
        self,
        writer: LogWriter,
        redaction: RedactionRules | None = None,
        *,
        max_body_bytes: int = DEFAULT_LIMIT,
    ) -> None:
        self._writer = writer
        self._journal = writer.journal
        self._redaction = redaction
        self._max_body = max_body_bytes
        """Bytes of each body the log keeps (``RELAYSCOPE_LOG_MAX_BODY_BYTES``)."""

    async def start(self) -> None:
        """Queue what stopped processes journaled but never stored (see logs/journal.py)."""
        journal = self._journal
        if journal is None:
            return
        for entry in await asyncio.to_thread(journal.adopt):
            try:
                inputs = inputs_from_json(entry)
            except (TypeError, ValueError) as exc:
                log.error("skipping a journal entry that cannot be read: %s", exc)
                journal.done([(entry["org_id"], entry["record_uid"])])
                continue
            self._writer.submit(self._builder(inputs))

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        ctx.created_at = datetime.now(UTC)
        ctx.upstream_body = BodyCapture(self._max_body)
        # In the client's format: a fallback may be served in another and translated back.
        ctx.first_token = _FIRST_TOKEN.get(
            body_format(ctx.target.format, ctx.method, ctx.target.url)
        )
        # Registered first, so it runs last: after the other stages' end callbacks
        # (a rate limit's pricing, which the record then shares).
        ctx.on_stream_end(lambda: self._finish(ctx))
        try:
            response = await call_next(ctx)
        except GatewayError as exc:
            ctx.error = exc.message
            status, headers, body = error_response(exc)
            ctx.upstream_body.replace(body)
            ctx.upstream_stream = False
            return ProxyResponse(status, headers, body=body)
        ctx.response_type = _header(response.headers, b"content-type")
        return response

    async def _finish(self, ctx: Context) -> None:
        """``_submit``, serialising large bodies for the journal on a worker thread.

        Runs when the request ends (``Context.on_stream_end``), before the client's
        last byte is sent: that byte leaves only once the record is journaled.
        """
        ended = time.perf_counter()
        status = ctx.status
        if status is None:  # no response was started
            status = CLIENT_CLOSED if ctx.cancelled else 500
        first = ctx.first_token_at if ctx.first_token_at is not None else ctx.first_byte_at
        size = min(len(ctx.client_body), self._max_body) + ctx.upstream_body.kept
        if self._journal is None or ctx.cancelled or size < JOURNAL_OFF_LOOP_BYTES:
            self._submit(ctx, status, ended, first)
            return
        inputs = await asyncio.to_thread(self._journaled, ctx, status, ended, first)
        self._writer.submit(self._builder(inputs))

    def _submit(self, ctx: Context, status: int, ended: float, first_chunk: float | None) -> None:
        inputs = self._journaled(ctx, status, ended, first_chunk)
        self._writer.submit(self._builder(inputs))

    def _journaled(
        self, ctx: Context, status: int, ended: float, first_chunk: float | None
    ) -> RecordInputs:
        """The request's record inputs, appended to the journal (when there is one)."""
        latency_ms = (ended - ctx.started) * 1000
        ttft_ms = (first_chunk - ctx.started) * 1000 if first_chunk is not None else None
        inputs = record_inputs(ctx, status, latency_ms, ttft_ms)
        journal_inputs(self._journal, inputs)
        return inputs

    def _builder(self, inputs: RecordInputs) -> Builder:
        return record_builder(inputs, self._redaction, self._journal)


def journal_inputs(journal: Journal | None, inputs: RecordInputs) -> None:
    """Append ``inputs`` to ``journal`` (when there is one), before the record is queued."""
    if journal is None:
        return
    try:
        line = orjson.dumps(inputs, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError as exc:  # a value JSON cannot hold: the record still goes on
        log.error("cannot journal request %s: %s", inputs["request_id"], exc)
    else:
        journal.append((inputs["org_id"], inputs["record_uid"]), line)


def record_builder(
    inputs: RecordInputs, redaction: RedactionRules | None, journal: Journal | None
) -> Builder:
    """What the writer runs to make the record of ``inputs``."""

    def build() -> LogRecord:
        try:
            return build_record(inputs, redaction)
        except Exception:
            # Never buildable: replaying it after a crash would fail the same way.
            if journal is not None:
                journal.done([(inputs["org_id"], inputs["record_uid"])])
            raise

    return build


class _LaterInputs(TypedDict, total=False):
    # Not ``NotRequired``: under ``from __future__ import annotations`` Python 3.11's
    # TypedDict does not see it, and counted these keys as required.
    response_type: str | None
    """The response's content type (entries journaled before it existed lack it)."""
    price_usd: float | None
    """The upstream price, when something on the request path already computed it."""
    usage: dict[str, int | None]
    """Token counts reported beside the response rather than in it (an OpenTelemetry
    span's attributes): ``prompt_tokens``, ``completion_tokens``, ``cache_read_tokens``,
    ``cache_write_tokens``, ``reasoning_tokens``; they replace what the body reports."""
    response_model: str | None
    """The model that answered, reported beside the response (with ``usage``)."""


class RecordInputs(_LaterInputs):
    """What a finished request's log record is built from, as JSON can hold it.

    Taken from the context on the event loop when the request ends (cheap: no
    parsing; a plain dict, which orjson serialises fastest), journaled, and built
    into a ``LogRecord`` in the writer; read back from the journal after a crash.
    """

    request_id: str
    record_uid: str
    org_id: str
    key_id: str | None
    created_at: datetime
    provider_name: str
    format: str
    priced: bool
    pricing_id: str | None
    path: str
    model: str | None
    status: int
    latency_ms: float
    ttft_ms: float | None
    # What the log keeps of the response (``BodyCapture``), bytes as Latin-1 text.
    body_limit: int
    response_head: str
    response_tail: str
    response_size: int
    upstream_stream: bool
    wants_stream: bool
    request_body: str | None  # capped; None under Helicone-Omit-Request: never journaled
    request_body_bytes: int
    omit_response: bool
    error: str | None
    cancelled: bool
    cache_hit: bool
    cache_source_id: str | None
    cache_similarity: float | None
    user_id: str | None
    session_id: str | None
    session_path: str | None
    session_name: str | None
    request_name: str | None
    properties: dict[str, str]
    attempts: list[dict[str, Any]] | None
    fallback_index: int | None
    prompt_id: str | None
    prompt_version: int | None
    prompt_variables: dict[str, Any] | None
    rate_limited: bool
    warnings: list[str]


def record_inputs(
    ctx: Context, status: int, latency_ms: float, ttft_ms: float | None
) -> RecordInputs:
    tags, cache, retry, prompt = ctx.tags, ctx.cache, ctx.retry, ctx.prompt
    captured = ctx.upstream_body
    request_type = _header(ctx.headers, b"content-type")
    if ctx.omit_request:
        request_body = None
    elif is_multipart(request_type):
        assert request_type is not None
        request_body = multipart_summary(ctx.client_body, request_type)
    else:
        request_body = capped_text(ctx.client_body, captured.limit)
    inputs: RecordInputs = {
        "request_id": ctx.request_id,
        "record_uid": ctx.record_uid or random_uuid(),
        "org_id": ctx.org_id,
        "key_id": ctx.key_id,
        "created_at": ctx.created_at or datetime.now(UTC),
        "provider_name": ctx.target.provider_name,
        "format": body_format(ctx.target.format, ctx.method, ctx.target.url),
        "priced": priced(ctx),
        "pricing_id": pricing_id(ctx),
        "path": ctx.path,
        "model": logged_model(ctx),
        "status": status,
        "latency_ms": latency_ms,
        "ttft_ms": ttft_ms,
        "body_limit": captured.limit,
        "response_head": captured.head().decode("latin-1"),
        "response_tail": captured.tail().decode("latin-1"),
        "response_size": captured.size,
        "upstream_stream": ctx.upstream_stream,
        "wants_stream": ctx.wants_stream,
        "request_body": request_body,
        "request_body_bytes": len(ctx.client_body),
        "omit_response": ctx.omit_response,
        "error": ctx.error,
        "cancelled": ctx.cancelled,
        "cache_hit": cache is not None and cache.hit,
        "cache_source_id": cache.source_id if cache else None,
        "cache_similarity": cache.similarity if cache else None,
        "user_id": tags.user_id,
        "session_id": tags.session_id,
        "session_path": tags.session_path,
        "session_name": tags.session_name,
        "request_name": tags.request_name,
        "properties": tags.properties,
        "attempts": retry.logged() if retry else None,
        "fallback_index": retry.fallback_index if retry else None,
        "prompt_id": prompt.id if prompt else None,
        "prompt_version": prompt.version if prompt else None,
        "prompt_variables": prompt.variables if prompt else None,
        "rate_limited": ctx.ratelimit is not None and ctx.ratelimit.limited,
        "warnings": list(ctx.warnings),
        "response_type": ctx.response_type,
    }
    if ctx.price is not None:
        inputs["price_usd"] = ctx.price.usd
    return inputs


def inputs_from_json(entry: dict[str, Any]) -> RecordInputs:
    """Inputs read back from the journal (fields this version does not know are
    ignored). ValueError when the entry is not usable."""
    missing = RecordInputs.__required_keys__ - entry.keys()
    if missing:
        raise ValueError(f"journal entry without {', '.join(sorted(missing))}")
    values = {k: v for k, v in entry.items() if k in _INPUT_FIELDS}
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    return cast(RecordInputs, values)


_INPUT_FIELDS = frozenset(RecordInputs.__annotations__)


def build_record(inputs: RecordInputs, redaction: RedactionRules | None = None) -> LogRecord:
    """The log record for a finished request (runs in the writer, not on the hot path)."""
    limit = inputs["body_limit"]
    captured = BodyCapture.restored(
        limit,
        inputs["response_head"].encode("latin-1"),
        inputs["response_tail"].encode("latin-1"),
        inputs["response_size"],
    )
    stream = inputs["upstream_stream"]
    response_type = inputs.get("response_type")
    binary = is_binary(response_type)
    parsed = Parsed() if binary else parse_captured(inputs["format"], captured, stream=stream)
    if "usage" in inputs:
        _reported(parsed, inputs["usage"], inputs.get("response_model"))
    status = inputs["status"]
    if "price_usd" in inputs:
        cost = inputs["price_usd"]
    else:
        cost = upstream_price(
            inputs["pricing_id"], inputs["model"], status, parsed, priced=inputs["priced"]
        )
    cost_saved = None
    if inputs["cache_hit"]:
        # The replayed bytes price the original call: that is what the hit saved.
        cost_saved, cost = cost, 0.0
    error = inputs["error"]
    if error is None and status >= 400:
        error = _provider_error(parsed.body, status)
    properties = inputs["properties"]
    if parsed.notes:
        properties = {**properties, UPSTREAM_WARNING: str(parsed.notes)}
        metrics.UPSTREAM_FIELDS_REFUSED.labels(inputs["provider_name"]).inc()
    redact = redaction.for_org(inputs["org_id"]) if redaction else None
    response_body = None if inputs["omit_response"] else _as_text(parsed.body)
    if binary and not inputs["omit_response"]:
        response_body = binary_marker(response_type, captured.size)
    elif response_body is not None and captured.truncated and not stream:
        response_body += _marker(captured.size, limit)
    request_size = inputs["request_body_bytes"]
    ttft_ms = inputs["ttft_ms"]
    record = LogRecord(
        id=inputs["request_id"],
        org_id=inputs["org_id"],
        key_id=inputs["key_id"],
        created_at=inputs["created_at"],
        provider=inputs["provider_name"],
        path=inputs["path"],
        request_model=inputs["model"],
        response_model=parsed.model,
        status=status,
        latency_ms=round(inputs["latency_ms"], 3),
        ttft_ms=round(ttft_ms, 3) if ttft_ms is not None else None,
        prompt_tokens=parsed.prompt_tokens,
        completion_tokens=parsed.completion_tokens,
        total_tokens=parsed.total_tokens,
        cache_read_tokens=parsed.cache_read_tokens,
        cache_write_tokens=parsed.cache_write_tokens,
        reasoning_tokens=parsed.reasoning_tokens,
        cost_usd=cost,
        user_id=inputs["user_id"],
        session_id=inputs["session_id"],
        session_path=inputs["session_path"],
        session_name=inputs["session_name"],
        properties=properties,
        request_name=inputs["request_name"],
        stream=stream or inputs["wants_stream"],
        cancelled=inputs["cancelled"],
        attempts=inputs["attempts"],
        fallback_index=inputs["fallback_index"],
        cache_hit=inputs["cache_hit"],
        cache_source_id=inputs["cache_source_id"],
        cache_similarity=inputs["cache_similarity"],
        cost_saved_usd=cost_saved,
        prompt_id=inputs["prompt_id"],
        prompt_version=inputs["prompt_version"],
        prompt_variables=inputs["prompt_variables"],
        # Refused for its rate, by a gateway policy or by the provider (whose 429
        # is as much a rate limit to the client, and to analytics).
        rate_limited=inputs["rate_limited"] or status == 429,
        error=error,
        request_body=inputs["request_body"],
        response_body=response_body,
        record_uid=inputs["record_uid"],
        warnings=inputs["warnings"],
        request_body_bytes=request_size if request_size > limit else None,
        response_body_bytes=captured.size if captured.truncated or binary else None,
    )
    if redact:
        redact_record(record, redact)
    return record.without_nul()


_FIRST_TOKEN = {"responses": b'.delta"', "anthropic": b'"content_block_delta"'}
"""What the first event with output holds, for formats whose streams open with events
that carry none (``response.created``, ``message_start``): TTFT is timed to it."""


_USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


def _reported(parsed: Parsed, usage: dict[str, int | None], model: str | None) -> None:
    for name in _USAGE_FIELDS:
        value = usage.get(name)
        # Counts the store cannot hold are left out, as a provider's would be.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= TOKEN_LIMIT:
            setattr(parsed, name, value)
    if model is not None:
        parsed.model = model


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _provider_error(body: object, status: int) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        message = error.get("message") if isinstance(error, dict) else None
        if isinstance(message, str):
            return message
        if isinstance(error, str):
            return error
    return f"provider answered HTTP {status}"


def _as_text(body: object) -> str | None:
    if body is None:
        return None
    if isinstance(body, str):
        return body
    return orjson.dumps(body).decode()


def capped_text(body: bytes, limit: int) -> str:
    if len(body) <= limit:
        return body.decode("utf-8", "replace")
    # "ignore": the cut may split a character, which is no reason for a U+FFFD.
    return body[:limit].decode("utf-8", "ignore") + _marker(len(body), limit)


def _marker(size: int, limit: int) -> str:
    return f"\n[RelayScope: body truncated, first {limit} of {size} bytes logged]"


def build(settings: Settings, services: Services) -> LoggingStage:
    """Always on: every request is logged."""
    return LoggingStage(
        services.writer, services.redaction, max_body_bytes=settings.log_max_body_bytes
    )
