"""The proxy hot path: an ASGI app that turns a client request into a Context,
runs the pipeline, and streams the answer back.

Nothing here blocks: the key lookup is cached, the body is read once, and the
log record is handed to the writer without waiting.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from relayscope import types
from relayscope.auth.keys import INTERNAL_PRINCIPAL, KeyResolver, Principal
from relayscope.context import Context
from relayscope.errors import (
    GatewayError,
    HeadersTooLarge,
    InvalidHeader,
    ServiceUnavailable,
    error_response,
    reused_id_problem,
)
from relayscope.proxy.body import BodyLimits, ClientGone, read_body, too_large
from relayscope.proxy.delivery import respond, send_whole
from relayscope.proxy.request_ids import RequestIds
from relayscope.proxy.routing import Router
from relayscope.proxy.tags import body_user_id, client_request_id, flag, parse_tags
from relayscope.types import CallNext

Scope = types.Scope
Receive = types.Receive
Send = types.Send

_NOT_FORWARDED = frozenset(
    {
        b"host",
        b"content-length",
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authorization",
        b"proxy-connection",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_body_bytes: int = 32 * 1024 * 1024
    max_headers: int = 128
    max_header_bytes: int = 64 * 1024
    max_concurrency: int = 10_000
    """Requests admitted and not yet answering at once (their response not started):
    each holds an upstream connection or waits for one. Beyond it, 503 with
    Retry-After instead of queueing. A stream whose response has started no longer
    counts: it is mostly idle while the model generates, and its memory is bounded by
    backpressure (``proxy/delivery.py``)."""
    max_buffered_bytes: int = 1024 * 1024 * 1024
    """Request body bytes held at once (kept until the request ends, for its log
    record); a request that would go beyond it gets a 503 (one request alone always
    fits, up to ``max_body_bytes``)."""
    client_body_timeout: float = 60.0
    """Seconds a client may take to send its whole body (408 beyond): slow-loris guard."""

    @property
    def body(self) -> BodyLimits:
        return BodyLimits(max_bytes=self.max_body_bytes, timeout=self.client_body_timeout)


class ProxyApp:
    def __init__(
        self,
        *,
        router: Router,
        keys: KeyResolver,
        pipeline: CallNext,
        limits: Limits | None = None,
        request_ids: RequestIds | None = None,
        strict_headers: bool = False,
    ) -> None:
        self.router = router
        self.keys = keys
        self.pipeline = pipeline
        self.limits = limits or Limits()
        self.body_limits = self.limits.body
        self.request_ids = request_ids or RequestIds(strict=strict_headers)
        self.strict_headers = strict_headers
        self.in_flight = 0
        """Requests admitted whose response has not started: what the limit counts."""
        self.streaming = 0
        """Streams whose response has started and not yet ended."""
        self.buffered = 0
        """Request body bytes held by the requests under way."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.in_flight >= self.limits.max_concurrency:
            await send_whole(send, *error_response(_busy()))
            return
        self.in_flight += 1
        admission = _Admission(self)
        try:
            await self._handle(scope, receive, send, admission)
        finally:
            admission.end()

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, admission: _Admission
    ) -> None:
        try:
            ctx = await self._context(scope, receive, admission)
        except GatewayError as exc:
            await send_whole(send, *error_response(exc))
            return
        except ClientGone:
            return
        # A watcher cancels this task if the client hangs up, so the upstream call is
        # abandoned too. It starts only once the response has taken a while: LLM calls
        # take far longer, and a fast answer (a cache hit, an error) then costs a timer
        # instead of a task created and cancelled per request.
        task = asyncio.current_task()
        assert task is not None
        watcher = DisconnectWatcher(receive, task)
        timer = asyncio.get_running_loop().call_later(_WATCH_AFTER, watcher.start)
        try:
            await respond(ctx, self.pipeline, send, admission.streaming)
        except asyncio.CancelledError:
            if not watcher.hung_up:
                raise
            task.uncancel()
        finally:
            timer.cancel()
            watcher.stop()

    async def _context(self, scope: Scope, receive: Receive, admission: _Admission) -> Context:
        helicone: dict[str, str] = {}
        forward: list[tuple[bytes, bytes]] = []
        content_length = None
        raw_headers = scope["headers"]
        if len(raw_headers) > self.limits.max_headers:
            raise HeadersTooLarge(f"More than {self.limits.max_headers} request headers")
        header_bytes = 0
        for raw_name, raw_value in raw_headers:
            header_bytes += len(raw_name) + len(raw_value)
            name = raw_name.lower()
            if name.startswith(b"helicone-"):
                lower = name.decode("latin-1")
                helicone[lower] = _text(raw_value)
            elif name == b"content-length":
                content_length = raw_value
            elif name not in _NOT_FORWARDED:
                forward.append((name, raw_value))
        if header_bytes > self.limits.max_header_bytes:
            raise HeadersTooLarge(
                f"Request headers exceed {self.limits.max_header_bytes} bytes in total"
            )
        path = scope["path"]
        target = self.router.route(path, helicone)
        principal = scope.get(INTERNAL_PRINCIPAL)
        if not isinstance(principal, Principal):  # an in-process call names its caller
            principal = await self.keys.resolve(helicone.get("helicone-auth"), "Helicone-Auth")
        tags = parse_tags(helicone)
        unusable_id = False
        try:
            chosen_id = client_request_id(helicone)
        except InvalidHeader:
            if self.strict_headers:
                raise
            chosen_id, unusable_id = None, True  # Helicone makes its own id then: so does this
        omit_request = flag(helicone, "Helicone-Omit-Request")
        omit_response = flag(helicone, "Helicone-Omit-Response")
        limit = self.limits.max_body_bytes
        if (
            content_length is not None
            and content_length.isdigit()
            and (len(content_length) > 18 or int(content_length) > limit)
        ):
            raise too_large(limit)
        body = await read_body(receive, self.body_limits)
        admission.hold(len(body))
        ids = self.request_ids.assign(principal.org_id, chosen_id)
        ctx = Context(
            request_id=ids.request_id,
            record_uid=ids.record_uid,
            org_id=principal.org_id,
            key_id=principal.key_id,
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b""),
            target=target,
            headers=forward,
            helicone=helicone,
            client_body=body,
            body=body,
            tags=tags,
            key=principal.policy,
            client=_client_address(scope),
            omit_request=omit_request,
            omit_response=omit_response,
            strict_headers=self.strict_headers,
        )
        if unusable_id:
            logged_as = f"this request is logged as {ids.request_id}"
            ctx.tolerate("Helicone-Request-Id", "must be a UUID", logged_as)
        if ids.replaced is not None:
            ctx.warn("Helicone-Request-Id", reused_id_problem(ids.replaced, ids.request_id))
        if tags.user_id is None and b'"user' in body:
            # Like Helicone: the SDKs' own end-user field stands in for the header, so
            # the record, ``s=user`` limits and user analytics see who it was. (The
            # byte search spares the JSON parse for the bodies that cannot have one.)
            tags.user_id = body_user_id(ctx.json)
        return ctx


class _Admission:
    """One request's place under the limits: counted as in flight until its stream
    starts, its body's bytes until it ends."""

    __slots__ = ("_app", "_bytes", "_streaming", "_waiting")

    def __init__(self, app: ProxyApp) -> None:
        self._app = app
        self._waiting = True
        self._streaming = False
        self._bytes = 0

    def hold(self, size: int) -> None:
        """Count ``size`` body bytes, or ServiceUnavailable if they would not fit."""
        app = self._app
        if app.buffered and app.buffered + size > app.limits.max_buffered_bytes:
            raise _busy()
        app.buffered += size
        self._bytes = size

    def streaming(self) -> None:
        """The response stream has started: the request leaves the in-flight count."""
        if self._waiting:
            self._waiting = False
            self._streaming = True
            self._app.in_flight -= 1
            self._app.streaming += 1

    def end(self) -> None:
        app = self._app
        if self._waiting:
            app.in_flight -= 1
        elif self._streaming:
            app.streaming -= 1
        app.buffered -= self._bytes
        self._bytes = 0
        self._waiting = self._streaming = False


_WATCH_AFTER = 0.05
"""Seconds into a request before its client is watched for hanging up."""


class DisconnectWatcher:
    """Cancels a request's task when its client disconnects (once ``start``-ed)."""

    def __init__(self, receive: Receive, task: asyncio.Task[None]) -> None:
        self._receive = receive
        self._task = task
        self._watch: asyncio.Task[None] | None = None
        self.hung_up = False

    def start(self) -> None:
        self._watch = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()

    async def _run(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.hung_up = True
        self._task.cancel()


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _client_address(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _busy() -> ServiceUnavailable:
    return ServiceUnavailable(
        "The gateway is at its concurrency limit; retry shortly",
        code="overloaded",
        headers={"Retry-After": "1"},
    )
