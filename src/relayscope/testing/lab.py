"""An in-process gateway with the clients the datasets and experiments tests need: the
real openai SDK (proxy key) and raw HTTP to the API with an admin key and a proxy key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import openai

from relayscope.auth.keys import ADMIN
from relayscope.testing.loop_gateway import LoopGateway, running_gateway


@dataclass
class Lab:
    gw: LoopGateway
    sdk: openai.AsyncOpenAI
    admin: httpx.AsyncClient
    """The API with an admin key of the gateway's org."""
    reader: httpx.AsyncClient
    """The API with the org's proxy key (reads only)."""
    admin_key: str

    async def ask(self, text: str, model: str = "gpt-4o-mini", **headers: str) -> str:
        """Proxy a chat completion; the request id the gateway answered with, once stored."""
        raw = await self.sdk.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": text}], extra_headers=headers
        )
        request_id = raw.headers["helicone-id"]
        await self.gw.record(request_id)
        return request_id


@asynccontextmanager
async def lab(
    tmp_path: Path, provider_url: str, store_url: str, **settings: Any
) -> AsyncIterator[Lab]:
    async with running_gateway(tmp_path, provider_url, database_url=store_url, **settings) as gw:
        _info, admin_key = await gw.gateway.store.create_key(gw.org_id, role=ADMIN)
        proxy_auth = gw.client.headers["Helicone-Auth"]
        transport = httpx.ASGITransport(app=gw.gateway)
        async with (
            httpx2.AsyncClient(
                transport=httpx2.ASGITransport(app=gw.gateway), headers=dict(gw.client.headers)
            ) as http,
            httpx.AsyncClient(
                transport=transport,
                base_url="http://gateway",
                headers={"Authorization": f"Bearer {admin_key}"},
                timeout=60,
            ) as admin,
            httpx.AsyncClient(
                transport=transport,
                base_url="http://gateway",
                headers={"Authorization": proxy_auth},
                timeout=60,
            ) as reader,
        ):
            sdk = openai.AsyncOpenAI(
                base_url="http://gateway/openai/v1",
                api_key="sk-client",
                max_retries=0,
                http_client=http,
            )
            yield Lab(gw, sdk, admin, reader, admin_key)
