"""uvicorn's httptools protocol with the gateway's limits on the request head.

uvicorn reads a request head of any size for as long as the client takes. Here:

- the head (request line and headers, as sent) is refused with a 431 as soon as it
  grows past ``HeadLimits.max_bytes``, before the parser has buffered much more;
- a client has ``HeadLimits.timeout`` seconds, from connecting or from its previous
  answer, to send a whole head: then a 408 (or, if it sent nothing, just the close);
- an answer sent before the request body was read to the end (a 413, an early error,
  a route that takes no body) closes the connection instead of reading the rest.

Bodies are limited by the routes themselves (``relayscope.proxy.body``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from relayscope.config import Settings
from relayscope.errors import GatewayError, HeadersTooLarge, RequestTimeout, error_response

REQUEST_LINE_ALLOWANCE = 16 * 1024
"""Bytes of a head beyond its headers' names and values: request line, colons, CRLFs."""


@dataclass(frozen=True, kw_only=True)
class HeadLimits:
    max_bytes: int = 64 * 1024 + REQUEST_LINE_ALLOWANCE
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HeadLimits:
        return cls(
            max_bytes=settings.max_header_bytes + REQUEST_LINE_ALLOWANCE,
            timeout=settings.client_header_timeout,
        )


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, head_limits: HeadLimits | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_limits = head_limits or HeadLimits()
        self._in_head = True
        """Bytes arriving now belong to a request head (none is being parsed past it)."""
        self._head_bytes = 0
        self._request_read = True
        """The current request's body has arrived to its end."""
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Checked once the parser has seen the bytes: a head that ended in them is fine
        # however much body came along; an unfinished one is at most a read larger.
        if (
            self._in_head
            and self._head_bytes > self.head_limits.max_bytes
            and not self.transport.is_closing()
        ):
            limit = self.head_limits.max_bytes
            self._refuse(HeadersTooLarge(f"The request head exceeds {limit} bytes"))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._request_read = False
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._request_read = True
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if not self._request_read:
            self.transport.close()
            return
        self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.head_limits.timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        answering = self.cycle is not None and not self.cycle.response_complete
        if self.transport.is_closing() or answering or not self._in_head:
            return
        if self._head_bytes:
            self._refuse(
                RequestTimeout(
                    f"The request head did not arrive within {self.head_limits.timeout} s"
                )
            )
        else:
            self.transport.close()

    def _refuse(self, error: GatewayError) -> None:
        """Answers ``error`` on a connection no request is being answered on, and closes it."""
        if self.cycle is None or self.cycle.response_complete:
            status, headers, body = error_response(error)
            headers += [
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            lines = [STATUS_LINE[status]]
            for name, value in [*self.server_state.default_headers, *headers]:
                lines += [name, b": ", value, b"\r\n"]
            lines += [b"\r\n", body]
            self.transport.write(b"".join(lines))
        self.transport.close()


def http_protocol(settings: Settings) -> Callable[..., LimitedHttpToolsProtocol]:
    """The protocol factory for uvicorn's ``http`` option, with ``settings``' limits."""
    return partial(LimitedHttpToolsProtocol, head_limits=HeadLimits.from_settings(settings))
