"""An upstream transport to an ASGI app in the same event loop: no port, no thread.

``AsgiTransport(app)`` implements ``relayscope.proxy.upstream.Transport``. Each
connection the gateway opens is one end of a ``socket.socketpair()``; uvicorn's HTTP
protocol serves ``app`` on the other end, in the caller's loop. The gateway's own
aiohttp sessions (timeouts, header handling, streaming) run unchanged over it, and
every provider name reaches ``app``. No name is resolved, so the SSRF guard, which
checks resolved addresses, has nothing to refuse: a guarded connection is the same.

    async with AsgiTransport(FakeProviderApp(RequestLog())) as transport:
        async with build_gateway(settings, transport=transport) as gateway: ...
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import aiohttp
import uvicorn
from aiohttp.client_proto import ResponseHandler
from uvicorn.server import ServerState

_STOP_TIMEOUT_S = 5.0


class AsgiTransport:
    """Connections to ``app``, served by uvicorn's HTTP protocol with ``config`` options."""

    def __init__(self, app: Any, **config: Any) -> None:
        options: dict[str, Any] = {
            "lifespan": "off",
            "log_config": None,
            "proxy_headers": False,
            "server_header": False,
            **config,
        }
        self._config = uvicorn.Config(app, **options)
        self._state = ServerState()

    def connector(self, *, guarded: bool, limit: int) -> aiohttp.BaseConnector:
        return _SocketPairConnector(self._accept, limit)

    async def _accept(self, sock: socket.socket) -> None:
        config, state = self._config, self._state
        if not config.loaded:
            config.load()
        protocol: Any = config.http_protocol_class  # typed as asyncio.Protocol, takes uvicorn's
        await asyncio.get_running_loop().connect_accepted_socket(
            lambda: protocol(config=config, server_state=state, app_state={}), sock
        )

    async def aclose(self) -> None:
        """Close the server side of every connection still open, once its response is done."""
        for connection in list(self._state.connections):
            connection.shutdown()
        tasks = list(self._state.tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=_STOP_TIMEOUT_S)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class _SocketPairConnector(aiohttp.BaseConnector):
    # Overrides the hook aiohttp's own Unix and named-pipe connectors override: a new
    # connection for ``req``; pooling, limits and keep-alive stay BaseConnector's.
    def __init__(self, accept: Callable[[socket.socket], Awaitable[None]], limit: int) -> None:
        super().__init__(limit=limit)
        self._accept = accept

    async def _create_connection(
        self, req: aiohttp.ClientRequest, traces: list[Any], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        client, server = socket.socketpair()
        try:
            await self._accept(server)
            _transport, protocol = await self._loop.create_connection(self._factory, sock=client)
        except BaseException:
            client.close()
            server.close()
            raise
        return protocol
