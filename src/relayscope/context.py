"""The typed object that flows through the pipeline, one per proxied request."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from relayscope.auth.policy import KeyPolicy
from relayscope.capture import BodyCapture
from relayscope.errors import WARNING_HEADER, InvalidHeader, helicone_warning
from relayscope.providers.registry import Format, Provider

if TYPE_CHECKING:
    # Each outcome lives with its feature, a layer above this one: the Context only
    # holds them, so it names them for the type checker alone.
    from relayscope.cache.outcome import CacheOutcome
    from relayscope.prompts.outcome import PromptOutcome
    from relayscope.ratelimit.outcome import RateLimitOutcome
    from relayscope.retry.outcome import RetryOutcome

log = logging.getLogger("relayscope")

StreamEnd = Callable[[], Awaitable[None]]
"""A callback for the end of a request (``Context.on_stream_end``)."""


@dataclass(slots=True)
class Tags:
    """What the client said about the request in ``Helicone-*`` headers."""

    user_id: str | None = None
    session_id: str | None = None
    session_path: str | None = None
    session_name: str | None = None
    request_name: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Target:
    """Where the request goes upstream."""

    provider: Provider | None
    """Registry entry, or None for a ``Helicone-Target-Url`` request."""
    url: str
    """Full upstream URL without the query string."""
    format: Format
    provider_name: str
    operator_origin: bool = False
    """The URL's origin is one the operator configured: connect without the guard
    against internal addresses (a client-chosen origin always goes through it)."""


class ChunkFilter(Protocol):
    """Rewrites a stream's chunks on their way to the client (``Context.client_filter``)."""

    def feed(self, chunk: bytes) -> bytes:
        """What to send of ``chunk`` now (empty: nothing yet)."""
        ...

    def end(self) -> bytes:
        """What is left to send once the stream has ended."""
        ...


class ByteStream(Protocol):
    """Chunks as they arrive, closable before their end (an async generator is one)."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    def __anext__(self) -> Awaitable[bytes]: ...

    def aclose(self) -> Awaitable[object]: ...


@dataclass(slots=True)
class ProxyResponse:
    """A response on its way back to the client: whole (``body``) or as a ``stream``."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""
    stream: ByteStream | None = None
    """Chunks to forward as they arrive; closing it (``aclose``) releases the upstream."""


@dataclass(frozen=True, slots=True)
class Price:
    """What the upstream call cost, priced once per request (``logs.price``)."""

    usd: float | None
    """None: no known price (an unknown model, an error, no usage)."""


@dataclass(slots=True, eq=False)
class Context:
    request_id: str
    org_id: str
    key_id: str
    method: str
    path: str
    """The path the client called on the gateway."""
    query: bytes
    target: Target
    headers: list[tuple[bytes, bytes]]
    """Headers to forward upstream (``Helicone-*`` and hop-by-hop removed)."""
    helicone: dict[str, str]
    """Every ``Helicone-*`` request header, by lower-case name."""
    client_body: bytes
    """The body exactly as the client sent it; this is what gets logged."""
    tags: Tags
    key: KeyPolicy | None = None
    """The gateway key's scopes and credentials when it is a virtual key (``virtualkeys``)."""
    client: str | None = None
    """The client's IP address, from the connection (no forwarded header is trusted)."""
    record_uid: str | None = None
    """The log record's own identity (``LogRecord.record_uid``), never the client's;
    None: a new UUID, made when the record is built (off the event loop)."""
    body: bytes = b""
    """The body sent upstream; stages may rewrite it."""
    started: float = field(default_factory=time.perf_counter)
    created_at: datetime | None = None
    upstream_body: BodyCapture = field(default_factory=BodyCapture)
    """What the log keeps of the raw bytes the upstream (or the cache) produced."""
    upstream_stream: bool = False
    """The response came as server-sent events."""
    response_type: str | None = None
    """The response's ``Content-Type`` (binary ones are logged as metadata only)."""
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    """``Helicone-*`` headers stages add to the client's response."""
    warnings: list[str] = field(default_factory=list)
    """``Helicone-Warning`` texts sent to the client, kept on the log record (``warn``)."""
    omit_request: bool = False
    """``Helicone-Omit-Request``: do not store the request body."""
    omit_response: bool = False
    """``Helicone-Omit-Response``: do not store the response body."""
    cancelled: bool = False
    error: str | None = None
    cache: CacheOutcome | None = None
    """What the response cache did; None when it was not looked up (``cache`` stage)."""
    ratelimit: RateLimitOutcome | None = None
    """The binding rate-limit policy's decision; None when no policy applied
    (``ratelimit`` stage)."""
    retry: RetryOutcome | None = None
    """Every upstream attempt and the route that served, when retries or fallbacks are
    on (``retry`` stage)."""
    prompt: PromptOutcome | None = None
    """The prompt the body was filled from (``prompts`` stage)."""
    strict_headers: bool = False
    """``RELAYSCOPE_STRICT_HEADERS``: what ``tolerate`` would warn about is a 400 instead."""
    status: int | None = None
    """The status the client was sent; None while (or if never) a response starts."""
    first_token: bytes | None = None
    """What the first chunk with output holds (None: the first chunk is the first token)."""
    first_byte_at: float | None = None
    """When a stream's first chunk went to the client (``perf_counter``)."""
    first_token_at: float | None = None
    """When the first chunk holding ``first_token`` went to the client."""
    client_filter: ChunkFilter | None = None
    """Applied by the proxy to each chunk of a streamed response as it sends it: a
    stage that must change what the client gets sets it instead of wrapping the stream."""
    price: Price | None = None
    """The upstream call's price once computed, shared by whatever needs it."""
    _on_end: list[StreamEnd] = field(default_factory=list)
    _json: object = None

    @property
    def json(self) -> object:
        """The upstream body parsed as JSON (None when it is not JSON), parsed once."""
        if self._json is None and self.body:
            try:
                self._json = orjson.loads(self.body)
            except orjson.JSONDecodeError:
                self._json = False
        return None if self._json is False else self._json

    def on_stream_end(self, callback: StreamEnd) -> None:
        """Have ``callback`` awaited once when the request ends, however it ends: its
        response (whole or streamed) sent, the client gone, the upstream broken, or the
        task cancelled. ``ctx.status``, ``ctx.error`` and ``ctx.cancelled`` say how.

        Callbacks run in reverse order of registration, like an exit stack: a stage
        that registers before ``call_next`` hears after the stages inside it. They run
        before the response's last byte is sent.
        """
        self._on_end.append(callback)

    async def end_stream(self) -> None:
        """Run the ``on_stream_end`` callbacks (the proxy does, once per request).

        One failing callback does not stop the others; a cancellation arriving while
        one runs is raised after the rest have run.
        """
        callbacks, self._on_end = self._on_end, []
        cancelled: asyncio.CancelledError | None = None
        for callback in reversed(callbacks):
            try:
                await callback()
            except asyncio.CancelledError as exc:
                cancelled = exc
            except Exception:
                log.exception("a stream-end callback of request %s failed", self.request_id)
        if cancelled is not None:
            raise cancelled

    def warn(self, header: str, problem: str) -> None:
        """Tell the client (a ``Helicone-Warning`` response header) and the log record
        that ``header`` was not taken as sent, and what was done instead."""
        text = helicone_warning(header, problem)
        self.warnings.append(text)
        self.response_headers.append((WARNING_HEADER, text.encode("ascii")))

    def tolerate(self, header: str, problem: str, instead: str) -> None:
        """A ``header`` value Helicone accepts but this gateway cannot use as sent.

        Compatible mode (the default) goes on as ``instead`` says, with a warning
        (``warn``); with strict headers it is a 400 naming the header and ``problem``.
        """
        if self.strict_headers:
            raise InvalidHeader(header, problem)
        self.warn(header, f"{problem}; {instead}")

    def set_body(self, body: bytes) -> None:
        """Replace the upstream body with raw bytes (parsed again on demand)."""
        self._json = None
        self.body = body

    def set_json(self, value: dict[str, Any]) -> None:
        """Replace the upstream body with ``value``."""
        self._json = value
        self.body = orjson.dumps(value)

    @property
    def wants_stream(self) -> bool:
        data = self.json
        return isinstance(data, dict) and data.get("stream") is True

    @property
    def model(self) -> str | None:
        data = self.json
        model = data.get("model") if isinstance(data, dict) else None
        return model if isinstance(model, str) else None
