"""Timing failures on either side of the gateway, in-process (raw ASGI calls, so
what reaches the client is seen message by message):

- a client that disconnects before its body has arrived: nothing is proxied, nothing
  answered, nothing logged, and the gateway keeps serving;
- a provider that sends its headers and then nothing: a 504 naming the timeout, and
  a record with it;
- a provider that stops mid-stream: the client has every byte that arrived, the
  response is not ended as if complete, and the record keeps the partial body and
  the timeout.

The provider here is a loopback server the test scripts byte by byte.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import LoopGateway, running_gateway

CHAT = "/openai/v1/chat/completions"
QUESTION = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
READ_TIMEOUT = 0.5
SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)
EVENTS = [
    b'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}\n\n',
    b'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-mini",'
    b'"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n',
]


def chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class StallingProvider:
    """Answers every request with ``head``, then stays silent; notes when the gateway
    hangs up (it must, once its read timeout passes)."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.requests = 0
        self.hung_up = asyncio.Event()
        self.url = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        writer.write(self.head)
        await writer.drain()
        while await reader.read(65536):  # the gateway sends nothing more; EOF: it left
            pass
        self.hung_up.set()
        writer.close()


@asynccontextmanager
async def stalling(head: bytes) -> AsyncIterator[StallingProvider]:
    provider = StallingProvider(head)
    server = await asyncio.start_server(provider.handle, "127.0.0.1", 0)
    provider.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield provider
    finally:
        server.close()


class Exchange:
    """One raw ASGI call: what the client sends (``incoming``), what it receives."""

    def __init__(self, incoming: list[dict[str, Any]], *, then_hang: bool = True) -> None:
        self.incoming = incoming
        self.then_hang = then_hang
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self.incoming:
            return self.incoming.pop(0)
        await asyncio.Future()  # the client stays connected and sends nothing more
        raise AssertionError("unreachable")

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int | None:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    @property
    def headers(self) -> dict[str, str]:
        starts = [m for m in self.sent if m["type"] == "http.response.start"]
        return {k.decode(): v.decode() for k, v in starts[0]["headers"]} if starts else {}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")

    @property
    def completed(self) -> bool:
        """The response was ended normally (a last body message without more_body)."""
        bodies = [m for m in self.sent if m["type"] == "http.response.body"]
        return bool(bodies) and not bodies[-1].get("more_body", False)


def scope(gw: LoopGateway, length: int) -> dict[str, Any]:
    headers = [
        (b"helicone-auth", gw.client.headers["helicone-auth"].encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": CHAT,
        "raw_path": CHAT.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }


Arrivals = Callable[[], list[dict[str, Any]]]


@pytest.mark.parametrize(
    "arrivals",
    [
        lambda: [{"type": "http.disconnect"}],
        lambda: [
            {"type": "http.request", "body": QUESTION[:10], "more_body": True},
            {"type": "http.disconnect"},
        ],
    ],
    ids=["before-any-body", "mid-body"],
)
async def test_a_client_gone_before_its_body_arrives_is_neither_proxied_nor_logged(
    tmp_path, fake: FakeProvider, arrivals: Arrivals
):
    async with running_gateway(tmp_path, fake.url) as gw:
        writer = gw.gateway.writer
        exchange = Exchange(arrivals())
        await asyncio.wait_for(
            gw.gateway(scope(gw, len(QUESTION)), exchange.receive, exchange.send), 10
        )
        assert exchange.sent == [], "nothing is sent to a client that has gone"
        assert fake.calls == 0
        assert gw.gateway.proxy.in_flight == 0
        assert writer.stats.submitted == 0
        # The gateway keeps serving.
        after = await gw.client.post(CHAT, content=QUESTION)
        assert after.status_code == 200
        await gw.record(after.headers["helicone-id"])
        assert fake.calls == 1


async def test_a_provider_silent_after_its_headers_is_a_504_and_logged(tmp_path):
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 400\r\n\r\n{"
    async with (
        stalling(head) as provider,
        running_gateway(tmp_path, provider.url, upstream_read_timeout=READ_TIMEOUT) as gw,
    ):
        started = time.monotonic()
        reply = await asyncio.wait_for(gw.client.post(CHAT, content=QUESTION), 30)
        waited = time.monotonic() - started
        assert reply.status_code == 504
        error = reply.json()["error"]
        assert error["code"] == "upstream_timeout" and "openai" in error["message"]
        # Not the 600 s default, and not before the timeout: generous either way for a
        # loaded machine, tight enough to show which setting applied.
        assert READ_TIMEOUT * 0.9 <= waited < 30
        await asyncio.wait_for(provider.hung_up.wait(), 10)
        record = await gw.record(reply.headers["helicone-id"])
        assert record.status == 504 and "Timed out" in (record.error or "")
        assert provider.requests == 1, "a read timeout is not retried without a retry policy"


@pytest.mark.parametrize("events", [0, 2], ids=["no-event", "two-events"])
async def test_a_stream_that_stops_midway_keeps_what_arrived(tmp_path, events):
    head = SSE_HEAD + b"".join(chunked(e) for e in EVENTS[:events])
    async with (
        stalling(head) as provider,
        running_gateway(tmp_path, provider.url, upstream_read_timeout=READ_TIMEOUT) as gw,
    ):
        body = orjson.dumps({**orjson.loads(QUESTION), "stream": True})
        exchange = Exchange([{"type": "http.request", "body": body, "more_body": False}])
        call = gw.gateway(scope(gw, len(body)), exchange.receive, exchange.send)
        with pytest.raises(Exception, match=r"(?i)timeout"):
            # Raised to the server, which then aborts the connection: the client must
            # not take the cut stream for a complete one.
            await asyncio.wait_for(call, 30)
        assert exchange.status == 200
        assert exchange.body == b"".join(EVENTS[:events])
        assert not exchange.completed
        await asyncio.wait_for(provider.hung_up.wait(), 10)
        record = await gw.record(exchange.headers["helicone-id"])
        assert record.stream is True
        assert "timeout" in (record.error or "").lower()
        if events:
            assert record.response_body is not None
            assert "Hello" in str(record.response_body)
