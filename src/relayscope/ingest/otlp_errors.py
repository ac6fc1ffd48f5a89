"""OTLP/HTTP's error bodies: a ``google.rpc.Status`` on every 4xx and 5xx of ``/v1/traces``.

The OTLP/HTTP spec has a failed export answered with its HTTP status and a
``Status`` (a gRPC code and a message), protobuf-encoded, or in protobuf's JSON
mapping when the export was JSON; the exporters read the message from it. Every
error of the path is made by the API's usual handlers (the key, the body limit, a
bad payload, a store outage, a 500) as an OpenAI-style error, and rewritten here, at
the edge of the ingest app, so none escapes in the other shape. Headers such as
``Retry-After`` (on the retryable 429 and 503) are kept.
"""

from __future__ import annotations

import orjson
from google.protobuf import json_format
from google.rpc import code_pb2
from google.rpc.status_pb2 import Status
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relayscope.ingest import otlp

_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    408: code_pb2.DEADLINE_EXCEEDED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    502: code_pb2.UNAVAILABLE,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}
"""The gRPC code for each HTTP status (the mapping gRPC itself uses for HTTP/2)."""
_DROPPED = (b"content-type", b"content-length")


def status_of(http_status: int, body: bytes) -> Status:
    """The ``Status`` for an error response: its code from the HTTP status, its message
    the OpenAI-style error's ``message`` (or the body's text)."""
    message = body.decode("utf-8", "replace")
    try:
        parsed = orjson.loads(body)
        message = str(parsed["error"]["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        pass
    code = _CODES.get(http_status, code_pb2.INTERNAL if http_status >= 500 else code_pb2.UNKNOWN)
    return Status(code=code, message=message)


def encoded(status: Status, *, json: bool) -> tuple[bytes, bytes]:
    """(body, content type) of ``status`` in the export's encoding."""
    if json:
        as_dict = json_format.MessageToDict(status, always_print_fields_with_no_presence=True)
        return orjson.dumps(as_dict), b"application/json"
    return status.SerializeToString(), b"application/x-protobuf"


def _sent_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media: bytes = value.partition(b";")[0].strip().lower()
            return media == b"application/json"
    return False


class OtlpErrors:
    """Wraps the ingest app: errors of ``otlp.PATH`` leave as a ``Status``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != otlp.PATH:
            await self.app(scope, receive, send)
            return
        json = _sent_json(scope)
        held: Message | None = None
        body = bytearray()

        async def rewrite(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held = message
                return
            if held is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            payload, media = encoded(status_of(held["status"], bytes(body)), json=json)
            headers = [(k, v) for k, v in held.get("headers", ()) if k.lower() not in _DROPPED]
            headers += [(b"content-type", media), (b"content-length", str(len(payload)).encode())]
            await send(
                {"type": "http.response.start", "status": held["status"], "headers": headers}
            )
            await send({"type": "http.response.body", "body": payload})

        await self.app(scope, receive, rewrite)
