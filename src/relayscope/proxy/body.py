"""Reading a request body within a size limit and a deadline, for every route.

The proxy reads bodies with ``read_body``; the Starlette apps (``/api``, the dashboard)
sit behind ``BoundedBody``, which reads the body the same way before the app runs and
hands it on as one message. Either way the chunks are joined once, so reading costs
time linear in the body's size, and nothing past the limit is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from relayscope.errors import GatewayError, PayloadTooLarge, RequestTimeout, error_response
from relayscope.types import ASGIApp, Receive, Scope, Send


class ClientGone(Exception):
    """The client hung up before its request body arrived; there is no one to answer."""


@dataclass(frozen=True, kw_only=True)
class BodyLimits:
    max_bytes: int
    timeout: float
    """Seconds the client may take to send the whole body (408 beyond): slow-loris guard."""


API_BODY_LIMITS = BodyLimits(max_bytes=1024 * 1024, timeout=60.0)
"""The defaults for /api and the dashboard, as in ``Settings``."""


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the gateway's limit of {limit} bytes")


def declared_too_large(headers: list[tuple[bytes, bytes]], limit: int) -> bool:
    """Whether a Content-Length header already says the body is over ``limit``."""
    for name, value in headers:
        if name.lower() == b"content-length":
            return value.isdigit() and (len(value) > 18 or int(value) > limit)
    return False


async def read_body(receive: Receive, limits: BodyLimits) -> bytes:
    """The whole request body; PayloadTooLarge, RequestTimeout or ClientGone instead."""
    chunks: list[bytes] = []
    size = 0
    deadline = asyncio.get_running_loop().time() + limits.timeout
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise RequestTimeout(
                f"The request body did not arrive within {limits.timeout} s"
            ) from None
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limits.max_bytes:
            raise too_large(limits.max_bytes)
        chunks.append(chunk)
        if not message.get("more_body"):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class BoundedBody:
    """ASGI middleware: the request body is read within ``limits`` before ``app`` runs,
    which then receives it as a single message (413 / 408 as OpenAI-style JSON otherwise).
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if declared_too_large(scope["headers"], self.limits.max_bytes):
                raise too_large(self.limits.max_bytes)
            body = await read_body(receive, self.limits)
        except GatewayError as exc:
            await _refuse(send, exc)
            return
        except ClientGone:
            return
        pending: list[MutableMapping[str, Any]] = [
            {"type": "http.request", "body": body, "more_body": False}
        ]

        async def replay() -> MutableMapping[str, Any]:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, error: GatewayError) -> None:
    status, headers, payload = error_response(error)
    headers.append((b"content-length", str(len(payload)).encode()))
    # The rest of the body will not be read: the connection cannot serve another request.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
