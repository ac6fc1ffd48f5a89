"""``AsgiTransport`` carries the gateway's provider calls to an ASGI app in the same loop,
as a socket would: every provider name reaches it, and a connection the app breaks
mid-stream is a broken upstream stream to the gateway."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest

from relayscope.testing.asgi_transport import AsgiTransport
from relayscope.testing.fake_provider import FakeProviderApp, RequestLog
from relayscope.testing.loop_gateway import LoopGateway, running_gateway

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "one two three"}]}


@pytest.fixture
async def requests() -> RequestLog:
    return RequestLog()


@pytest.fixture
async def gw(tmp_path, requests) -> AsyncIterator[LoopGateway]:
    async with (
        AsgiTransport(FakeProviderApp(requests)) as transport,
        running_gateway(
            tmp_path,
            "unused",
            transport=transport,
            # Names nothing resolves, one of them over TLS: only the transport reaches them.
            provider_base_urls={
                "openai": "https://openai.example.invalid/v1",
                "anthropic": "http://anthropic.example.invalid:8080",
            },
        ) as gw,
    ):
        yield gw


async def test_every_provider_name_reaches_the_app(gw, requests):
    reply = await gw.client.post("/openai/v1/chat/completions", json=CHAT)
    assert reply.json()["choices"][0]["message"]["content"] == "Echo: one two three"
    claude = await gw.client.post(
        "/anthropic/v1/messages",
        json={**CHAT, "model": "claude-3-5-haiku-latest", "max_tokens": 50},
        headers={"x-api-key": "sk-ant", "anthropic-version": "2023-06-01"},
    )
    assert claude.json()["content"][0]["text"] == "Echo: one two three"
    assert [(r.path, r.headers["host"]) for r in requests.requests] == [
        ("/v1/chat/completions", "openai.example.invalid"),
        ("/v1/messages", "anthropic.example.invalid:8080"),
    ]


async def test_a_stream_the_app_cuts_is_a_broken_upstream_stream(gw):
    request_id = str(uuid.uuid4())
    # httpx's ASGI transport re-raises what the gateway's relay raised.
    with pytest.raises(aiohttp.ClientPayloadError):
        await gw.client.post(
            "/openai/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers={"x-fake-cut-after-chunks": "2", "Helicone-Request-Id": request_id},
        )
    record = await gw.record(request_id)
    assert record.error is not None and "upstream stream broke" in record.error
