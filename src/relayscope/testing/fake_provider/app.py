"""The raw ASGI application: routing, recording, scripted faults, sending."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import orjson
from starlette.datastructures import Headers

from . import anthropic_wire, gemini_wire, openai_wire, responses_wire, tamper
from .behaviour import NORMAL, Behaviour, ControlHeaderError, apply_control_headers
from .conversation import InvalidRequest
from .resources import Request, Resources

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TRANSPORT_EXTENSION = "relayscope.fake_provider.transport"
DEFAULT_MODEL = "fake-model"

_JSON = b"application/json"
_EVENT_STREAM = b"text/event-stream; charset=utf-8"
_TEXT = b"text/plain; charset=utf-8"


class DeliberateAbort(Exception):
    """Raised inside the app so the ASGI server drops the connection mid-response."""


class Route(Enum):
    OPENAI_CHAT = "openai.chat"
    OPENAI_EMBEDDINGS = "openai.embeddings"
    OPENAI_RESPONSES = "openai.responses"
    ANTHROPIC_MESSAGES = "anthropic.messages"


_ROUTE_SUFFIXES = (
    ("/chat/completions", Route.OPENAI_CHAT),
    ("/embeddings", Route.OPENAI_EMBEDDINGS),
    ("/responses", Route.OPENAI_RESPONSES),
    ("/messages", Route.ANTHROPIC_MESSAGES),
)


def match_route(path: str) -> Route | None:
    path = path.rstrip("/")
    for suffix, route in _ROUTE_SUFFIXES:
        if path.endswith(suffix):
            return route
    return None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it. ``json`` is None when the body is not JSON."""

    method: str
    path: str
    query_string: str
    headers: Headers
    body: bytes
    json: Any


class RequestLog:
    """Thread-safe recordings and behaviour script shared by the server and the test."""

    def __init__(self, *, record: bool = True) -> None:
        self._record = record
        self._changed = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._script: deque[Behaviour] = deque()
        self._default = NORMAL
        self._abandoned = 0
        self._streamed = 0

    def admit(self, scope: Scope, body: bytes, payload: Any) -> Behaviour:
        """Record one incoming request and hand out the behaviour it should get."""
        request = _recorded(scope, body, payload) if self._record else None
        with self._changed:
            if request is not None:
                self._requests.append(request)
                self._changed.notify_all()
            return self._script.popleft() if self._script else self._default

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._changed:
            return list(self._requests)

    @property
    def calls(self) -> int:
        with self._changed:
            return len(self._requests)

    def enqueue(self, *behaviours: Behaviour) -> None:
        with self._changed:
            self._script.extend(behaviours)

    def set_default(self, behaviour: Behaviour) -> None:
        with self._changed:
            self._default = behaviour

    def abandoned(self) -> None:
        """A client went away mid-stream and the rest of the stream was not sent."""
        with self._changed:
            self._abandoned += 1
            self._changed.notify_all()

    @property
    def abandoned_streams(self) -> int:
        with self._changed:
            return self._abandoned

    def streamed(self, size: int) -> None:
        with self._changed:
            self._streamed += size

    @property
    def streamed_bytes(self) -> int:
        """Bytes of stream events handed to the server so far (what a slow reader's
        backpressure holds back)."""
        with self._changed:
            return self._streamed

    def reset(self) -> None:
        with self._changed:
            self._abandoned = 0
            self._streamed = 0
            self._requests.clear()
            self._script.clear()
            self._default = NORMAL

    def wait_for_calls(self, count: int, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= count, timeout)


def _recorded(scope: Scope, body: bytes, payload: Any) -> RecordedRequest:
    return RecordedRequest(
        method=scope["method"],
        path=scope["path"],
        query_string=scope["query_string"].decode("latin-1"),
        headers=Headers(raw=list(scope["headers"])),
        body=body,
        json=payload,
    )


@dataclass(slots=True)
class _Response:
    status: int
    content_type: bytes
    body: bytes = b""
    events: list[bytes] | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)


def _misreport(response: _Response, behaviour: Behaviour) -> None:
    if response.events is not None:
        response.events = tamper.tamper_events(response.events, behaviour.usage, behaviour.fields)
    elif response.body:
        response.body = tamper.tamper_body(response.body, behaviour.usage, behaviour.fields)


class FakeProviderApp:
    """ASGI app emulating OpenAI and Anthropic endpoints; see the package docstring."""

    def __init__(self, log: RequestLog, *, chunk_delay_s: float = 0.0) -> None:
        self._log = log
        self._chunk_delay_s = chunk_delay_s
        self._ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._handlers: dict[Route, Callable[[Any, Behaviour, str], _Response]] = {
            Route.OPENAI_CHAT: self._openai_chat,
            Route.OPENAI_EMBEDDINGS: self._openai_embeddings,
            Route.ANTHROPIC_MESSAGES: self._anthropic_messages,
            Route.OPENAI_RESPONSES: self._openai_responses,
        }
        self._resources = Resources()
        self._prompt_cache: set[str] = set()
        """Digests of the Anthropic prompt prefixes cached so far (``cache_control``)."""
        self._responses: dict[str, dict[str, Any]] = {}
        """Responses made and stored, by id: ``GET``/``DELETE /responses/{id}`` and
        ``previous_response_id`` find them here."""

    def close(self) -> None:
        """Abort pending delays so shutdown is quick. Call on the server's event loop."""
        self._closing.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        payload = _parse_json(body)
        scripted = self._log.admit(scope, body, payload)
        route = match_route(scope["path"])
        anthropic = _speaks_anthropic(route, scope["headers"])
        try:
            behaviour = apply_control_headers(scripted, scope["headers"])
        except ControlHeaderError as exc:
            await self._send(send, _error(anthropic, 400, str(exc)), NORMAL)
            return
        await self._pause(behaviour.delay_s)
        if behaviour.drop_connection:
            await _drop_connection(scope, receive)
            return
        await self._send(
            send,
            self._respond(scope, route, anthropic, body, payload, behaviour),
            behaviour,
            receive,
        )

    def _respond(
        self,
        scope: Scope,
        route: Route | None,
        anthropic: bool,
        body: bytes,
        payload: Any,
        behaviour: Behaviour,
    ) -> _Response:
        status = behaviour.status
        if behaviour.body is not None:
            return _custom(status or 200, behaviour.body)
        if status is not None and status >= 400:
            return _error(anthropic, status, f"fake provider: scripted HTTP {status}")
        headers = Headers(raw=list(scope["headers"]))
        request = Request(
            scope["method"],
            scope["path"],
            headers.get("content-type", ""),
            body,
            payload,
            anthropic,
        )
        try:
            answer = self._resources.answer(request)
        except InvalidRequest as exc:
            return _error(anthropic, 400, str(exc))
        if answer is not None:
            return _Response(answer.status, answer.content_type, answer.body)
        if scope["method"] == "POST" and ":" in scope["path"].rpartition("/")[2]:
            return self._gemini(scope, payload, behaviour)
        stored = _stored_response_id(scope["path"])
        if stored is not None and scope["method"] in ("GET", "DELETE"):
            return self._stored_response(scope["method"], stored)
        if route is None or scope["method"] != "POST":
            message = f"Invalid URL ({scope['method']} {scope['path']})"
            return _error(anthropic, 404, "Not found" if anthropic else message)
        try:
            response = self._handlers[route](payload, behaviour, _path_model(scope["path"]))
        except InvalidRequest as exc:
            return _error(anthropic, 400, str(exc))
        if status is not None:
            response.status = status
        if behaviour.usage or behaviour.fields:
            _misreport(response, behaviour)
        return response

    def _openai_chat(self, payload: Any, behaviour: Behaviour, default_model: str) -> _Response:
        reply = openai_wire.plan_chat(
            payload, default_model=default_model, tool_call=behaviour.tool_call
        )
        if behaviour.stream_events is not None:
            reply = replace(reply, pieces=_cycled(reply.pieces, behaviour.stream_events))
        ident = next(self._ids)
        common = {
            "ident": ident,
            "created": int(time.time()),
            "cached_tokens": behaviour.cached_tokens,
        }
        request_id = [(b"x-request-id", b"req_fake%010d" % ident)]
        if payload.get("stream") is True:
            options = payload.get("stream_options")
            include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
            events = openai_wire.chat_completion_events(
                reply, include_usage=include_usage, **common
            )
            return _Response(200, _EVENT_STREAM, events=events, headers=request_id)
        return _Response(
            200, _JSON, openai_wire.chat_completion_body(reply, **common), None, request_id
        )

    def _openai_embeddings(self, payload: Any, _: Behaviour, default_model: str) -> _Response:
        return _Response(
            200, _JSON, openai_wire.embeddings_body(payload, default_model=default_model)
        )

    def _anthropic_messages(
        self, payload: Any, behaviour: Behaviour, default_model: str
    ) -> _Response:
        reply = anthropic_wire.plan_messages(
            payload, default_model=default_model, tool_call=behaviour.tool_call
        )
        ident = next(self._ids)
        common = {
            "ident": ident,
            "cached_tokens": behaviour.cached_tokens,
            "cache_creation_tokens": behaviour.cache_creation_tokens,
        }
        prefix = anthropic_wire.cache_prefix(payload)
        if prefix is not None and not (behaviour.cached_tokens or behaviour.cache_creation_tokens):
            # Prompt caching as Anthropic does it: the prefix up to the last breakpoint is
            # written on first sight and read after; input_tokens counts the rest.
            digest, tokens = prefix
            key = "cached_tokens" if digest in self._prompt_cache else "cache_creation_tokens"
            self._prompt_cache.add(digest)
            common[key] = min(tokens, reply.prompt_tokens)
            reply = replace(reply, prompt_tokens=reply.prompt_tokens - common[key])
        thinking = anthropic_wire.thinking_of(payload, reply)
        request_id = [(b"request-id", b"req_fake%010d" % ident)]
        if payload.get("stream") is True:
            events = anthropic_wire.message_events(reply, thinking=thinking, **common)
            return _Response(200, _EVENT_STREAM, events=events, headers=request_id)
        body = anthropic_wire.message_body(reply, thinking=thinking, **common)
        return _Response(200, _JSON, body, None, request_id)

    def _openai_responses(
        self, payload: Any, behaviour: Behaviour, default_model: str
    ) -> _Response:
        previous_id = payload.get("previous_response_id") if isinstance(payload, dict) else None
        previous = self._responses.get(previous_id) if isinstance(previous_id, str) else None
        if previous_id is not None and previous is None:
            message = f"Previous response with id '{previous_id}' not found."
            return _Response(
                400, _JSON, openai_wire.error_body(400, message, code="previous_response_not_found")
            )
        plan = responses_wire.plan_response(
            payload, default_model=default_model, tool_call=behaviour.tool_call, previous=previous
        )
        ident = next(self._ids)
        response = responses_wire.response_object(
            plan, payload, ident=ident, cached_tokens=behaviour.cached_tokens
        )
        if response["store"]:
            self._responses[response["id"]] = response
        request_id = [(b"x-request-id", b"req_fake%010d" % ident)]
        if payload.get("stream") is True:
            events = responses_wire.response_events(response)
            return _Response(200, _EVENT_STREAM, events=events, headers=request_id)
        return _Response(200, _JSON, orjson.dumps(response), None, request_id)

    def _gemini(self, scope: Scope, payload: Any, behaviour: Behaviour) -> _Response:
        path = scope["path"]
        method = path.rpartition(":")[2]
        if method not in ("generateContent", "streamGenerateContent"):
            return _Response(404, _JSON, gemini_wire.error_body(404, f"Unknown method {method}"))
        try:
            reply, thoughts = gemini_wire.plan(
                payload, gemini_wire.model_of(path), behaviour.tool_call
            )
        except InvalidRequest as exc:
            return _Response(400, _JSON, gemini_wire.error_body(400, str(exc)))
        common = {"ident": next(self._ids), "cached_tokens": behaviour.cached_tokens}
        if method == "generateContent":
            return _Response(200, _JSON, gemini_wire.content_body(reply, thoughts, **common))
        chunks = gemini_wire.stream_chunks(reply, thoughts, **common)
        if b"alt=sse" in scope["query_string"]:
            return _Response(200, _EVENT_STREAM, events=gemini_wire.sse_events(chunks))
        return _Response(200, _JSON, orjson.dumps(chunks))

    def _stored_response(self, method: str, response_id: str) -> _Response:
        response = self._responses.get(response_id)
        if response is None:
            message = f"Response with id '{response_id}' not found."
            return _Response(404, _JSON, openai_wire.error_body(404, message))
        if method == "DELETE":
            del self._responses[response_id]
            return _Response(200, _JSON, responses_wire.deleted_body(response_id))
        return _Response(200, _JSON, orjson.dumps(response))

    async def _send(
        self,
        send: Send,
        response: _Response,
        behaviour: Behaviour,
        receive: Receive | None = None,
    ) -> None:
        headers = _headers(response, behaviour.headers)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if response.events is not None:
            await self._stream(send, response.events, behaviour, receive)
        elif behaviour.cut_after_chunks is not None:
            half = response.body[: len(response.body) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
            raise DeliberateAbort("cut_after_chunks: body cut halfway")
        else:
            await send({"type": "http.response.body", "body": response.body})

    async def _stream(
        self, send: Send, events: list[bytes], behaviour: Behaviour, receive: Receive | None
    ) -> None:
        delay = self._chunk_delay_s if behaviour.chunk_delay_s is None else behaviour.chunk_delay_s
        cut = behaviour.cut_after_chunks
        gone = asyncio.Event()
        watcher = None
        if receive is not None and delay:
            watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            for index, event in enumerate(events):
                if index == cut:
                    break
                if index and delay:
                    await self._pause(delay)
                if gone.is_set():
                    self._log.abandoned()
                    return
                await send({"type": "http.response.body", "body": event, "more_body": True})
                self._log.streamed(len(event))
        finally:
            if watcher is not None:
                watcher.cancel()
        if cut is not None:
            raise DeliberateAbort(f"cut_after_chunks={cut}")
        await send({"type": "http.response.body", "body": b""})

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return
        raise DeliberateAbort("fake provider is shutting down")


def _cycled(pieces: tuple[str, ...], count: int) -> tuple[str, ...]:
    """``count`` pieces: ``pieces`` over and over (the same string objects)."""
    if not pieces:
        return ()
    return tuple(pieces[i % len(pieces)] for i in range(count))


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _speaks_anthropic(route: Route | None, headers: list[tuple[bytes, bytes]]) -> bool:
    if route is not None:
        return route is Route.ANTHROPIC_MESSAGES
    return any(name in (b"anthropic-version", b"x-api-key") for name, _ in headers)


def _stored_response_id(path: str) -> str | None:
    """The id in ``.../responses/{id}``, or None for any other path."""
    head, _, last = path.rstrip("/").rpartition("/")
    return last if head.endswith("/responses") and last else None


def _path_model(path: str) -> str:
    parts = path.split("/")
    if "deployments" in parts:
        index = parts.index("deployments") + 1
        if index < len(parts) and parts[index]:
            return parts[index]
    return DEFAULT_MODEL


def _error(anthropic: bool, status: int, message: str) -> _Response:
    wire = anthropic_wire if anthropic else openai_wire
    return _Response(status, _JSON, wire.error_body(status, message))


def _custom(status: int, body: Any) -> _Response:
    if isinstance(body, bytes | str):
        raw = body.encode() if isinstance(body, str) else body
        return _Response(status, _JSON if _parse_json(raw) is not None else _TEXT, raw)
    return _Response(status, _JSON, orjson.dumps(body))


def _headers(response: _Response, extra: Mapping[str, str]) -> list[tuple[bytes, bytes]]:
    headers = [(b"content-type", response.content_type), *response.headers]
    if response.events is None:
        headers.append((b"content-length", b"%d" % len(response.body)))
    else:
        headers.append((b"cache-control", b"no-cache"))
    if not extra:
        return headers
    overrides = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in extra.items()
        if name.lower() != "content-length"
    ]
    replaced = {name for name, _ in overrides}
    return [h for h in headers if h[0] not in replaced] + overrides


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _drop_connection(scope: Scope, receive: Receive) -> None:
    close = scope.get("extensions", {}).get(TRANSPORT_EXTENSION, {}).get("close")
    if close is None:
        raise DeliberateAbort("drop_connection needs the fake provider's uvicorn protocol")
    close()
    while (await receive())["type"] != "http.disconnect":
        pass
