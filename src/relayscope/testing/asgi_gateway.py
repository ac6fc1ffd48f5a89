"""A whole gateway in this process for synchronous tests, reached through httpx's
``ASGITransport``: the real SDKs and httpx clients send to it with no socket
(``openai.OpenAI(base_url=f"{gw.url}/openai/v1", http_client=gw.sdk_http())``; the
openai and anthropic SDKs are built on httpx2, httpx's successor).

The gateway runs on an event loop of its own in a background thread, so the log
writer and every other background task go on between requests, as in a server. It is
configured from the same ``RELAYSCOPE_*`` variables a gateway process reads, so a test
that started ``relayscope serve`` with an environment can start this with the same one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import httpx2

from relayscope.config import Settings
from relayscope.gateway import Gateway, build_gateway
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.waiting import wait_until

T = TypeVar("T")

URL = "http://gateway"
"""What the clients send to; no socket is opened."""

Address = tuple[str, int]
LOOPBACK: Address = ("127.0.0.1", 123)
"""Where the gateway sees a client connect from, unless told otherwise."""


class AsgiGateway:
    """``with AsgiGateway(data_dir, env) as gw``: started; ``gw.http()`` reaches it."""

    url = URL

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` (epoch seconds) is what key expiry and rotation grace are measured by."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.env: dict[str, str] = {"RELAYSCOPE_DATA_DIR": str(data_dir), **(env or {})}
        """The settings it was started with, as the CLI reads them from the environment."""
        self.settings = Settings.from_env(self.env)
        self.database_url = self.settings.store_url
        self._built: AbstractAsyncContextManager[Gateway] = build_gateway(
            self.settings, clock=clock
        )
        self._gateway: Gateway | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="asgi-gateway", daemon=True
        )
        self.transport = _LoopTransport(self)
        self._sdk_transport = _SdkLoopTransport(self)
        self._sdk_async_transport = _AsyncSdkLoopTransport(self)

    @property
    def gateway(self) -> Gateway:
        """The started gateway (an ASGI app)."""
        assert self._gateway is not None, "use AsgiGateway in a with block"
        return self._gateway

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the gateway runs on."""
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Runs ``coro`` on the gateway's event loop and returns its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> AsgiGateway:
        self._thread.start()
        try:
            self._gateway = self.run(self._built.__aenter__())
        except BaseException:
            self._close_loop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self._built.__aexit__(None, None, None))
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def http(
        self, headers: Mapping[str, str] | None = None, *, client: Address | None = None
    ) -> httpx.Client:
        """A client of the gateway; closing it leaves the gateway running. ``client`` is
        the address the gateway sees it connect from (default 127.0.0.1)."""
        transport = self.transport if client is None else _LoopTransport(self, client)
        return httpx.Client(transport=transport, base_url=URL, headers=headers)

    def sdk_http(
        self, headers: Mapping[str, str] | None = None, *, client: Address | None = None
    ) -> httpx2.Client:
        """An httpx2 client of the gateway, as the SDKs take (``http_client=``)."""
        transport = self._sdk_transport if client is None else _SdkLoopTransport(self, client)
        return httpx2.Client(transport=transport, base_url=URL, headers=headers)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to the gateway, as ``httpx.request`` sends one to a server."""
        with self.http() as client:
            return client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def sdk_async_http(self, headers: Mapping[str, str] | None = None) -> httpx2.AsyncClient:
        """An httpx2 client for the SDKs' async clients, usable from any event loop."""
        return httpx2.AsyncClient(
            transport=self._sdk_async_transport, base_url=URL, headers=headers
        )

    def new_org(self, name: str | None = None) -> OrgKey:
        return create_org(self.database_url, name)

    def api(self, org: OrgKey) -> httpx.Client:
        """The JSON API, authenticated as ``org``."""
        return self.http(org.bearer)

    def record(self, org: OrgKey, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The stored record of ``request_id`` as the API returns it, once it is written."""
        with self.api(org) as api:

            def fetch() -> dict[str, Any] | None:
                response = api.get(f"/api/requests/{request_id}")
                found: dict[str, Any] | None = (
                    response.json()["data"] if response.is_success else None
                )
                return found

            return wait_until(fetch, timeout=timeout)


class _LoopTransport(httpx.BaseTransport):
    """Hands each request to ``httpx.ASGITransport`` on the gateway's event loop."""

    def __init__(self, gateway: AsgiGateway, client: Address = LOOPBACK) -> None:
        self._gateway = gateway
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # the body is sent from the other thread's event loop
        asgi = httpx.ASGITransport(app=self._gateway.gateway, client=self._client)

        async def send() -> httpx.Response:
            response = await asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return self._gateway.run(send())

    def close(self) -> None:
        """Clients come and go; the gateway stays until its ``with`` block ends."""


class _SdkLoopTransport(httpx2.BaseTransport):
    """The same for httpx2 clients."""

    def __init__(self, gateway: AsgiGateway, client: Address = LOOPBACK) -> None:
        self._gateway = gateway
        self._client = client

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        asgi = httpx2.ASGITransport(app=self._gateway.gateway, client=self._client)

        async def send() -> httpx2.Response:
            response = await asgi.handle_async_request(request)
            body = await response.aread()
            return httpx2.Response(response.status_code, headers=response.headers, content=body)

        return self._gateway.run(send())

    def close(self) -> None:
        """Clients come and go; the gateway stays until its ``with`` block ends."""


class _AsyncSdkLoopTransport(httpx2.AsyncBaseTransport):
    """The same for async httpx2 clients: the caller's loop awaits the gateway's."""

    def __init__(self, gateway: AsgiGateway) -> None:
        self._gateway = gateway

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        asgi = httpx2.ASGITransport(app=self._gateway.gateway)

        async def send() -> httpx2.Response:
            response = await asgi.handle_async_request(request)
            body = await response.aread()
            return httpx2.Response(response.status_code, headers=response.headers, content=body)

        future = asyncio.run_coroutine_threadsafe(send(), self._gateway.loop)
        return await asyncio.wrap_future(future)

    async def aclose(self) -> None:
        """Clients come and go; the gateway stays until its ``with`` block ends."""
