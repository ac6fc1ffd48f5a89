"""The in-flight limit counts requests waiting for their response, not open streams:
a stream is mostly idle while the model generates, so thousands may be open at once."""

from __future__ import annotations

import asyncio

import aiohttp

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import running_gateway
from relayscope.testing.waiting import async_wait_until

CHAT = "/openai/v1/chat/completions"
STREAM = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
PLAIN = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
LIMIT = 4
STREAMS = 4 * LIMIT


async def test_open_streams_beyond_the_limit_are_all_served(tmp_path, fake: FakeProvider):
    # Slow enough that every stream is still open when the last one starts.
    slow = {"x-fake-chunk-delay-ms": "100", "x-fake-stream-events": "20"}
    async with (
        running_gateway(tmp_path, fake.url, max_concurrency=LIMIT) as gw,
        gw.socket_client() as client,
    ):
        responses = []
        for _ in range(STREAMS):
            response = await client.post(CHAT, json=STREAM, headers=slow)
            assert response.status == 200, await response.text()
            assert await response.content.readline()  # the first event has arrived
            responses.append(response)
        assert gw.gateway.proxy.streaming == STREAMS
        assert gw.gateway.proxy.in_flight == 0
        for response in responses:
            body = await response.read()
            assert body.endswith(b"data: [DONE]\n\n")
            await gw.record(response.headers["helicone-id"])
        assert gw.gateway.proxy.streaming == 0


async def test_requests_waiting_for_their_response_still_count(tmp_path, fake: FakeProvider):
    async with (
        running_gateway(tmp_path, fake.url, max_concurrency=LIMIT) as gw,
        gw.socket_client() as client,
    ):
        stream = await client.post(CHAT, json=STREAM, headers={"x-fake-chunk-delay-ms": "100"})
        assert stream.status == 200
        slow = {"x-fake-delay-ms": "2000"}
        waiting = [
            asyncio.ensure_future(client.post(CHAT, json=PLAIN, headers=slow)) for _ in range(LIMIT)
        ]

        async def all_waiting() -> bool:
            return gw.gateway.proxy.in_flight == LIMIT

        await async_wait_until(all_waiting)
        refused = await client.post(CHAT, json=PLAIN)
        assert refused.status == 503
        assert refused.headers["retry-after"] == "1"
        assert (await refused.json())["error"]["code"] == "overloaded"
        answered: list[aiohttp.ClientResponse] = await asyncio.gather(*waiting)
        assert [r.status for r in answered] == [200] * LIMIT
        assert (await stream.read()).endswith(b"data: [DONE]\n\n")
        assert gw.gateway.proxy.in_flight == 0


async def test_request_bodies_held_by_open_streams_count_against_the_byte_limit(
    tmp_path, fake: FakeProvider
):
    words = " ".join(["word"] * 1200)  # about 6 KB of body per request
    long = {**STREAM, "messages": [{"role": "user", "content": words}]}
    async with (
        running_gateway(tmp_path, fake.url, max_buffered_bytes=10_000) as gw,
        gw.socket_client() as client,
    ):
        short = {"x-fake-chunk-delay-ms": "50", "x-fake-stream-events": "10"}
        stream = await client.post(CHAT, json=long, headers=short)
        assert stream.status == 200
        assert await stream.content.readline()
        refused = await client.post(CHAT, json=long)
        assert refused.status == 503
        assert (await refused.json())["error"]["code"] == "overloaded"
        assert (await client.post(CHAT, json=PLAIN)).status == 200  # a small body still fits
        assert (await stream.read()).endswith(b"data: [DONE]\n\n")
        assert gw.gateway.proxy.buffered == 0
        assert (await client.post(CHAT, json=long)).status == 200


async def test_beyond_the_upstream_connections_a_request_waits_for_one(tmp_path, fake):
    slow = {"x-fake-chunk-delay-ms": "100", "x-fake-stream-events": "10"}
    async with (
        running_gateway(tmp_path, fake.url, upstream_max_connections=2) as gw,
        gw.socket_client() as client,
    ):
        streams = [await client.post(CHAT, json=STREAM, headers=slow) for _ in range(2)]
        assert [s.status for s in streams] == [200, 200]
        third = asyncio.ensure_future(client.post(CHAT, json=PLAIN))

        async def waiting() -> bool:
            return gw.gateway.proxy.in_flight == 1

        await async_wait_until(waiting)
        for _ in range(6):  # three events (each a data line and a blank one): 200 ms on
            assert await streams[0].content.readline()
        assert not third.done() and fake.calls == 2, "no connection to the provider yet"
        for stream in streams:
            assert (await stream.read()).endswith(b"data: [DONE]\n\n")
        assert (await third).status == 200
        assert fake.calls == 3
