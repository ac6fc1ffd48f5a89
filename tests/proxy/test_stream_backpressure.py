"""A client that reads slowly holds its provider stream back instead of growing the
gateway's memory, and a long stream is logged whole (within the log's cap).

The gateway is served over real sockets (uvicorn's protocol on socket pairs) in front
of the fake provider, so a client that stops reading fills socket buffers exactly as
it would over TCP.
"""

from __future__ import annotations

import time

import orjson

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import running_gateway
from relayscope.testing.waiting import async_wait_until

CHAT = "/openai/v1/chat/completions"
WORD = "x" * 60_000
BIG_EVENTS = 1_000
"""About 30 MB of stream (every other event holds the word): far more than every
buffer between the provider and the client."""
HELD_BACK = 16 * 1024 * 1024
"""The most a stalled stream may have sent past what its client read: the gateway's own
buffers (about 200 KiB) plus the kernel's socket buffers on both hops."""
LONG_EVENTS = 12_000
"""Ten minutes of a model streaming 20 tokens a second."""


def _chat(content: str) -> dict[str, object]:
    return {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},  # every byte sent is forwarded
        "messages": [{"role": "user", "content": content}],
    }


async def _stalled(fake: FakeProvider) -> int:
    """Bytes the provider sent, once its stream has stopped advancing."""
    last: list[int] = [-1]
    since = [time.monotonic()]

    async def still() -> int | None:
        sent = fake.streamed_bytes
        if sent != last[0]:
            last[0], since[0] = sent, time.monotonic()
            return None
        return sent if time.monotonic() - since[0] >= 0.3 else None

    return await async_wait_until(still, timeout=20, interval=0.02)


async def test_a_client_that_stops_reading_holds_back_the_provider(tmp_path, fake: FakeProvider):
    async with running_gateway(tmp_path, fake.url) as gw, gw.socket_client() as client:
        headers = {"x-fake-stream-events": str(BIG_EVENTS)}
        response = await client.post(CHAT, json=_chat(WORD), headers=headers)
        assert response.status == 200
        read = len(await response.content.readany())
        sent = await _stalled(fake)
        print(f"held back with {sent - read} bytes in flight")
        assert sent - read <= HELD_BACK, f"{sent - read} bytes sent past what the client read"
        total = BIG_EVENTS // 2 * len(WORD)
        assert sent < total / 2, "the provider was not held back"
        # Reading again resumes the provider, and the stream arrives whole.
        rest = 0
        async for chunk in response.content.iter_any():
            rest += len(chunk)
        assert read + rest == fake.streamed_bytes
        record = await gw.record(response.headers["helicone-id"])
        assert record.status == 200 and not record.cancelled and record.error is None
        assert record.response_body_bytes == read + rest
        assert record.completion_tokens is not None and record.completion_tokens >= BIG_EVENTS


async def test_a_ten_minute_stream_is_logged_whole(tmp_path, fake: FakeProvider):
    async with running_gateway(tmp_path, fake.url) as gw, gw.socket_client() as client:
        headers = {"x-fake-stream-events": str(LONG_EVENTS)}
        response = await client.post(CHAT, json=_chat("token"), headers=headers)
        assert response.status == 200
        text = []
        async for line in response.content:
            if line.startswith(b"data: {"):
                for choice in orjson.loads(line[6:])["choices"]:
                    text.append(choice["delta"].get("content") or "")
        streamed = "".join(text)
        assert streamed.count("token") == LONG_EVENTS // 2
        record = await gw.record(response.headers["helicone-id"])
        assert record.status == 200 and not record.cancelled and record.error is None
        assert record.response_body is not None
        logged = orjson.loads(record.response_body)
        assert logged["choices"][0]["message"]["content"] == streamed
        assert record.completion_tokens is not None and record.completion_tokens >= LONG_EVENTS
        assert record.cost_usd is not None and record.cost_usd > 0
