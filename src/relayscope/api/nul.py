"""Refuses NUL characters in API paths, query parameters and JSON bodies (400).

Postgres text cannot hold U+0000: such a value would fail in the store, a 500, on
one backend and not the other. Refusing it at the door gives every backend the
same clear answer, naming where the character was.
"""

from __future__ import annotations

from collections import deque
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from relayscope.errors import BadRequest, error_response
from relayscope.proxy.app import Receive, Scope, Send

ASGIApp = Any


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = _in_path_or_query(scope)
        messages: deque[MutableMapping[str, Any]] = deque()
        if problem is None and scope["method"] in ("POST", "PUT", "PATCH") and _text(scope):
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            body = b"".join(message.get("body", b"") for message in messages)
            if _in_json(body):
                problem = BadRequest("The request body has a NUL character", param="body")
        if problem is not None:
            status, headers, payload = error_response(problem)
            headers.append((b"content-length", str(len(payload)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
            return

        async def replay() -> Any:
            return messages.popleft() if messages else await receive()

        await self.app(scope, replay, send)


_BINARY_TYPES = (b"application/x-protobuf", b"application/protobuf")


def _text(scope: Scope) -> bool:
    """Whether the body is text that may hold JSON: not protobuf (OTLP), not compressed.
    Those bodies' NULs are their encoding's; what a route reads out of them is stored
    without NULs (``LogRecord.without_nul``)."""
    for name, value in scope["headers"]:
        if name == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
            return False
        if name == b"content-type" and value.partition(b";")[0].strip().lower() in _BINARY_TYPES:
            return False
    return True


def _in_path_or_query(scope: Scope) -> BadRequest | None:
    if "\x00" in scope["path"]:
        return BadRequest("The path has a NUL character", param="path")
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return BadRequest(
                    f"Invalid query parameter '{name}': has a NUL character", param=name
                )
    return None


def _in_json(body: bytes) -> bool:
    if b"\x00" in body:
        return True
    if b"\\u0000" not in body:
        return False
    try:
        return _has_nul(orjson.loads(body))
    except orjson.JSONDecodeError:
        return False  # not JSON: the route says so


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False
