"""Streams through a whole in-process gateway, in front of the fake provider, with the
real openai and anthropic SDKs: every stage that needs a stream's end hears it once, through the
Context's end callbacks, and a chunk meets at most one layer between the upstream and
the client."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import httpx
import httpx2
import openai
import orjson
import pytest

from relayscope.config import Settings
from relayscope.context import ByteStream, Context, ProxyResponse
from relayscope.record import LogRecord
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.inprocess import InProcessGateway
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import async_wait_until

QUESTION = "tell me a story about a lighthouse keeper and a very patient cat"
CENTS = {"Helicone-RateLimit-Policy": "1000;w=60;u=cents"}
STREAMED = orjson.dumps(
    {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
)
EVERY_STAGE = {
    **CENTS,
    "Helicone-Cache-Enabled": "true",
    "Helicone-Retry-Enabled": "true",
    "Helicone-Retry-Num": "1",
}


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture
async def gw(tmp_path: Path, fake: FakeProvider) -> AsyncIterator[InProcessGateway]:
    env = {
        **fake_provider_env(fake.url),
        "RELAYSCOPE_DATABASE_URL": f"sqlite:///{tmp_path}/relayscope.db",
        "RELAYSCOPE_CACHE_BACKEND": "memory",
    }
    settings = Settings.from_env(env, data_dir=tmp_path)
    async with InProcessGateway(settings, aiohttp.ThreadedResolver()) as gateway:
        yield gateway


class Streams:
    """The layers of each stream the proxy iterates (the pipeline's output), outermost
    first: each async generator by name, down to the object it iterates."""

    def __init__(self, gw: InProcessGateway) -> None:
        self.seen: list[list[str]] = []
        proxy = gw.gateway.proxy
        pipeline = proxy.pipeline

        async def noting(ctx: Context) -> ProxyResponse:
            response = await pipeline(ctx)
            self.seen.append(_layers(response.stream))
            return response

        proxy.pipeline = noting


def _layers(stream: ByteStream | None) -> list[str]:
    layers = []
    while isinstance(stream, AsyncGenerator):
        layers.append(stream.ag_code.co_name)
        stream = stream.ag_frame.f_locals.get("stream")  # not started yet: its arguments
    layers.append(type(stream).__name__)
    return layers


def client(gw: InProcessGateway, **headers: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url="http://gateway/openai/v1",
        api_key="sk-test",
        default_headers={"Helicone-Auth": gw.auth, **headers},
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=gw.gateway.proxy)),
    )


async def record(gw: InProcessGateway, request_id: str) -> LogRecord:
    await gw.gateway.writer.drain(timeout=10)
    found = await gw.gateway.store.get_request(gw.org_id, request_id)
    assert found is not None
    return found


async def stream_chat(gw: InProcessGateway, *, usage: bool, **headers: str) -> tuple[str, list]:
    request_id = str(uuid.uuid4())
    sdk = client(gw, **{"Helicone-Request-Id": request_id, **headers})
    options = {"stream_options": {"include_usage": True}} if usage else {}
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        **options,  # type: ignore[arg-type]
    )
    chunks = [chunk async for chunk in stream]
    return request_id, chunks


async def test_with_every_stage_on_a_chunk_goes_from_the_upstream_stream_to_the_client(
    gw, fake, pricing
):
    streams = Streams(gw)
    request_id, chunks = await stream_chat(gw, usage=True, **EVERY_STAGE)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    # Logging, the rate limit by cost, the cache and retries: no layer of their own.
    assert streams.seen == [["UpstreamStream"]]

    logged = await record(gw, request_id)
    assert logged.stream and logged.completion_tokens == chunks[-1].usage.completion_tokens
    assert logged.cost_usd is not None and logged.cost_usd > 0
    assert logged.ttft_ms is not None and 0 < logged.ttft_ms <= logged.latency_ms
    # Priced once, off the event loop, and that price both charged and logged.
    assert len(pricing) == 1 and pricing[0] != threading.main_thread().name
    _, again = await stream_chat(gw, usage=True, **EVERY_STAGE)
    assert fake.calls == 1  # the stream was cached whole, and replayed
    assert [c.model_dump() for c in again] == [c.model_dump() for c in chunks]
    # The hit spent nothing: only the first stream's price was charged.
    assert await remaining_cents(gw) == pytest.approx(1000 - logged.cost_usd * 100, rel=1e-6)
    await gw.gateway.writer.drain(timeout=10)
    assert len(pricing) == 3  # once per request (the hit's record prices what it saved)
    assert threading.main_thread().name not in pricing


async def remaining_cents(gw: InProcessGateway) -> float:
    reply = await gw.call(
        "/openai/v1/chat/completions",
        {**CENTS, "Authorization": "Bearer sk-test", "Content-Type": "application/json"},
        b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}',
    )
    return float(reply.headers["helicone-ratelimit-remaining"])


async def test_a_stream_given_usage_it_did_not_ask_for_hides_it_without_a_layer(gw):
    streams = Streams(gw)
    request_id, chunks = await stream_chat(gw, usage=False)
    assert all(chunk.usage is None for chunk in chunks)
    assert streams.seen == [["UpstreamStream"]]
    logged = await record(gw, request_id)
    assert logged.completion_tokens is not None and logged.completion_tokens > 0


async def test_a_client_hanging_up_mid_stream_is_logged_once_and_releases_the_upstream(gw, fake):
    fake.enqueue(Behaviour(chunk_delay_s=0.2))
    request_id = str(uuid.uuid4())
    first_chunk = asyncio.Event()
    messages: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not messages:
            messages.append({})
            return {"type": "http.request", "body": STREAMED, "more_body": False}
        await first_chunk.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message.get("body"):
            first_chunk.set()

    scope = _scope(gw, {"helicone-request-id": request_id})
    await gw.gateway.proxy(scope, receive, send)
    logged = await record(gw, request_id)
    assert logged.cancelled and logged.status == 200
    assert logged.error == "client disconnected before the response completed"
    assert await gw.gateway.store.count_requests(gw.org_id) == 1

    async def released() -> bool | None:
        return fake.abandoned_streams == 1 or None

    await async_wait_until(released, timeout=10)


async def test_an_upstream_cut_mid_stream_is_logged_once_and_never_cached(gw, fake):
    fake.enqueue(Behaviour(cut_after_chunks=2))
    request_id = str(uuid.uuid4())
    with pytest.raises(aiohttp.ClientPayloadError):
        await gw.call(
            "/openai/v1/chat/completions",
            {
                "Helicone-Request-Id": request_id,
                "Helicone-Cache-Enabled": "true",
                "Authorization": "Bearer sk-test",
                "Content-Type": "application/json",
            },
            STREAMED,
        )
    logged = await record(gw, request_id)
    assert not logged.cancelled and logged.status == 200
    assert logged.error is not None and logged.error.startswith("upstream stream broke")
    assert await gw.gateway.store.count_requests(gw.org_id) == 1
    # Not cached: the same question goes upstream again, and that answer is whole.
    _, chunks = await stream_chat(gw, usage=True, **{"Helicone-Cache-Enabled": "true"})
    assert fake.calls == 2 and chunks[-1].usage is not None


def _scope(gw: InProcessGateway, headers: dict[str, str]) -> MutableMapping[str, Any]:
    every = {
        "helicone-auth": gw.auth,
        "authorization": "Bearer sk-test",
        "content-type": "application/json",
        **headers,
    }
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/openai/v1/chat/completions",
        "raw_path": b"/openai/v1/chat/completions",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in every.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


async def test_a_retried_stream_is_the_upstream_stream_read_ahead_not_a_layer(gw, fake):
    fake.enqueue(Behaviour(status=500))
    streams = Streams(gw)
    retry = {
        "Helicone-Retry-Enabled": "true",
        "Helicone-Retry-Num": "1",
        "Helicone-Retry-Min-Timeout": "0",
    }
    request_id, chunks = await stream_chat(gw, usage=True, **retry)
    assert fake.calls == 2 and chunks[-1].usage is not None
    assert streams.seen == [["UpstreamStream"]]
    logged = await record(gw, request_id)
    assert [a["status"] for a in logged.attempts or []] == [500, 200]


async def test_an_anthropic_stream_goes_from_the_upstream_stream_to_the_client(gw, pricing):
    streams = Streams(gw)
    request_id = str(uuid.uuid4())
    sdk = anthropic.AsyncAnthropic(
        base_url="http://gateway/anthropic",
        api_key="sk-ant-test",
        default_headers={"Helicone-Auth": gw.auth, "Helicone-Request-Id": request_id, **CENTS},
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.ASGITransport(app=gw.gateway.proxy)),
    )
    async with sdk.messages.stream(
        model="claude-3-5-haiku-latest",
        max_tokens=200,
        messages=[{"role": "user", "content": QUESTION}],
    ) as stream:
        final = await stream.get_final_message()
    assert streams.seen == [["UpstreamStream"]]
    logged = await record(gw, request_id)
    assert logged.completion_tokens == final.usage.output_tokens
    assert logged.ttft_ms is not None and logged.cost_usd is not None and logged.cost_usd > 0
    assert len(pricing) == 1 and pricing[0] != threading.main_thread().name
