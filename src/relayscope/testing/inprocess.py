"""A whole gateway in the test's own event loop, driven by raw ASGI calls.

Raw calls hand the proxy exactly the (already percent-decoded) path a server would,
with nothing normalised by an HTTP client on the way. The gateway's transport
resolves names with the test's resolver and skips TLS verification, so a test can
point every upstream name at a loopback listener and see what the gateway sends there.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp.abc import AbstractResolver

from relayscope.config import Settings
from relayscope.gateway import Gateway, build_gateway
from relayscope.proxy.upstream import TcpTransport


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    """Lower-case names; a repeated header keeps its last value."""
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class InProcessGateway:
    """``async with InProcessGateway(settings, resolver) as gw``: started, with one org."""

    def __init__(self, settings: Settings, resolver: AbstractResolver) -> None:
        self.settings = settings
        self._transport = TcpTransport(resolver, verify_tls=False)
        self._stack = AsyncExitStack()
        self._gateway: Gateway | None = None
        self.org_id = ""
        self.auth = ""
        """``Helicone-Auth`` value for the org."""

    @property
    def gateway(self) -> Gateway:
        """The started gateway (inside the ``async with`` block)."""
        assert self._gateway is not None, "enter the InProcessGateway first"
        return self._gateway

    async def __aenter__(self) -> InProcessGateway:
        async with AsyncExitStack() as stack:
            gateway = await stack.enter_async_context(
                build_gateway(self.settings, transport=self._transport)
            )
            org = await gateway.store.ensure_org("in-process")
            _info, key = await gateway.store.create_key(org.id)
            self._stack = stack.pop_all()
        self._gateway = gateway
        self.org_id, self.auth = org.id, f"Bearer {key}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._gateway = None
        await self._stack.aclose()

    async def call(
        self,
        path: str,
        headers: dict[str, str],
        body: bytes = b"",
        *,
        method: str = "POST",
        query: bytes = b"",
    ) -> Reply:
        """One request through the proxy app, as a server would hand it over."""
        scope: MutableMapping[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8", "surrogateescape"),
            "query_string": query,
            "headers": [
                (name.lower().encode("latin-1"), value.encode("utf-8"))
                for name, value in {"helicone-auth": self.auth, **headers}.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop()
            await asyncio.Future()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                chunks.append(message.get("body", b""))

        try:
            await self.gateway.proxy(scope, receive, send)
        except Exception as exc:  # what a server does with it: a plain-text 500
            if started:
                raise
            return Reply(500, {}, f"Internal Server Error ({exc!r})".encode())
        headers_out = {k.decode().lower(): v.decode("latin-1") for k, v in started["headers"]}
        return Reply(started["status"], headers_out, b"".join(chunks))
