"""A whole gateway in the test's own event loop, driven by raw ASGI calls.

Raw calls hand the proxy exactly the (already percent-decoded) path a server would,
with nothing normalised by an HTTP client on the way. The upstream sessions resolve
names with the test's resolver and skip TLS verification, so a test can point every
upstream name at a loopback listener and see what the gateway sends there.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver

from relayscope.config import Settings
from relayscope.proxy.ssrf import GuardedResolver
from relayscope.server import Gateway


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
        self._resolver = resolver
        self.gateway = Gateway(settings)
        self.org_id = ""
        self.auth = ""
        """``Helicone-Auth`` value for the org."""

    async def __aenter__(self) -> InProcessGateway:
        thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
        await self.gateway.start()
        # start() tunes the garbage collector for a long-lived server; not for a test run.
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)
        upstream = self.gateway.upstream
        await upstream.close()
        upstream.session = _session(self._resolver)
        upstream.guarded_session = None
        if not self.settings.target_allow_private_networks:
            upstream.guarded_session = _session(GuardedResolver(self._resolver))
        org = await self.gateway.store.ensure_org("in-process")
        _info, key = await self.gateway.store.create_key(org.id)
        self.org_id, self.auth = org.id, f"Bearer {key}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.gateway.stop()

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


def _session(resolver: AbstractResolver) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, ssl=False),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=10),
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Content-Type"),
        trust_env=False,
    )
