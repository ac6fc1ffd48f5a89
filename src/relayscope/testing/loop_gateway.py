"""A whole gateway inside the test's own event loop, called through ASGI (no socket).

Its event loop is the test's, so what a request costs the gateway can be read as
that thread's CPU time, whatever else the machine is doing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from relayscope.config import Settings
from relayscope.gateway import Gateway, build_gateway
from relayscope.proxy.upstream import Transport
from relayscope.record import LogRecord
from relayscope.testing.asgi_transport import AsgiTransport
from relayscope.testing.waiting import async_wait_until


@dataclass(frozen=True)
class LoopGateway:
    gateway: Gateway
    client: httpx.AsyncClient
    """Sends proxied requests, authenticated as the gateway's one org."""
    org_id: str

    async def record(self, request_id: str, timeout: float = 30.0) -> LogRecord:
        """The stored log record of ``request_id``, once the writer has written it."""

        async def stored() -> LogRecord | None:
            return await self.gateway.logs.get_request(self.org_id, request_id)

        found = await async_wait_until(stored, timeout=timeout, interval=0.02)
        assert found is not None
        return found

    @asynccontextmanager
    async def socket_client(self) -> AsyncIterator[aiohttp.ClientSession]:
        """An aiohttp client to the gateway served by uvicorn's HTTP protocol over
        socket pairs (in this loop): real sockets, so a client that stops reading
        pushes back on the gateway as it would over TCP. Authenticated like ``client``."""
        auth = {"Helicone-Auth": self.client.headers["Helicone-Auth"]}
        async with (
            AsgiTransport(self.gateway) as transport,
            aiohttp.ClientSession(
                "http://gateway",
                connector=transport.connector(guarded=False, limit=0),
                headers=auth,
                timeout=aiohttp.ClientTimeout(total=300),
            ) as session,
        ):
            yield session


@asynccontextmanager
async def running_gateway(
    data_dir: Path, provider_url: str, *, transport: Transport | None = None, **settings: Any
) -> AsyncIterator[LoopGateway]:
    """A started gateway whose OpenAI and Anthropic providers are at ``provider_url``.

    ``transport`` (default TCP) is how it reaches them, as in ``build_gateway``.
    """
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "provider_base_urls": {"openai": provider_url, "anthropic": provider_url},
        "log_flush_interval": 0.05,
        **settings,
    }
    async with build_gateway(Settings(**values), transport=transport) as gateway:
        org = await gateway.store.ensure_org("in-process")
        _info, key = await gateway.store.create_key(org.id)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway),
            base_url="http://gateway",
            headers={"Helicone-Auth": f"Bearer {key}"},
            timeout=300,
        ) as client:
            yield LoopGateway(gateway, client, org.id)
