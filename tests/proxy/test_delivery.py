"""The proxy drives each response once and ends each request once: the end callbacks
(``Context.on_stream_end``) run exactly once whatever the ending, before the last byte."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import aiohttp
import pytest

from relayscope.context import Context, ProxyResponse
from relayscope.proxy.delivery import CLIENT_GONE
from relayscope.testing.contexts import chat_context, respond_in_process

CHUNKS = [b"data: one\n\n", b"data: two\n\n", b"data: [DONE]\n\n"]


class Ending:
    """A pipeline answering with a stream, whose end callback notes each call."""

    def __init__(self, stream: AsyncGenerator[bytes, None] | None = None) -> None:
        self.ends: list[tuple[int | None, bool, str | None]] = []
        self.closed = asyncio.Event()
        self._stream = stream

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        try:
            for chunk in CHUNKS:
                yield chunk
        finally:
            self.closed.set()

    async def __call__(self, ctx: Context) -> ProxyResponse:
        async def ended() -> None:
            self.ends.append((ctx.status, ctx.cancelled, ctx.error))

        ctx.on_stream_end(ended)
        stream = self._stream if self._stream is not None else self.chunks()
        return ProxyResponse(200, [], stream=stream)


async def test_a_stream_that_ends_normally_ends_the_request_once_before_its_last_byte():
    pipeline = Ending()
    ctx = chat_context()
    sent = await respond_in_process(ctx, pipeline, observe=lambda: len(pipeline.ends))
    assert sent.chunks == [*CHUNKS, b""]
    assert sent.observed == [0, 0, 0, 1]  # the end ran before the stream's end was sent
    assert pipeline.ends == [(200, False, None)]
    assert pipeline.closed.is_set()
    assert ctx.first_byte_at is not None and ctx.first_token_at == ctx.first_byte_at


async def test_a_client_that_hangs_up_mid_stream_ends_it_once_and_closes_the_upstream():
    pipeline = Ending()
    with pytest.raises(OSError):
        await respond_in_process(chat_context(), pipeline, gone_after=1)
    assert pipeline.ends == [(200, True, CLIENT_GONE)]
    assert pipeline.closed.is_set()


async def test_an_upstream_cut_mid_stream_ends_the_request_once_with_its_error():
    async def cut() -> AsyncGenerator[bytes, None]:
        yield CHUNKS[0]
        raise aiohttp.ClientPayloadError("Response payload is not completed")

    pipeline = Ending(cut())
    with pytest.raises(aiohttp.ClientPayloadError):
        await respond_in_process(chat_context(), pipeline)
    [(status, cancelled, error)] = pipeline.ends
    assert status == 200 and not cancelled
    assert error == "ClientPayloadError: Response payload is not completed"


async def test_a_cancelled_request_ends_once_and_closes_the_upstream():
    waiting = asyncio.Event()

    async def slow() -> AsyncGenerator[bytes, None]:
        yield CHUNKS[0]
        waiting.set()
        await asyncio.Future()  # the model is thinking
        yield CHUNKS[1]

    pipeline = Ending(slow())
    task = asyncio.ensure_future(respond_in_process(chat_context(), pipeline))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pipeline.ends == [(200, True, CLIENT_GONE)]


async def test_a_request_cancelled_before_its_response_ends_once_without_a_status():
    calls: list[tuple[int | None, bool]] = []
    started = asyncio.Event()

    async def thinking(ctx: Context) -> ProxyResponse:
        async def ended() -> None:
            calls.append((ctx.status, ctx.cancelled))

        ctx.on_stream_end(ended)
        started.set()
        await asyncio.Future()
        raise AssertionError("unreachable")

    task = asyncio.ensure_future(respond_in_process(chat_context(), thinking))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == [(None, True)]


async def test_a_whole_response_ends_once_before_its_body_is_sent():
    calls: list[int | None] = []

    async def whole(ctx: Context) -> ProxyResponse:
        async def ended() -> None:
            calls.append(ctx.status)

        ctx.on_stream_end(ended)
        return ProxyResponse(201, [], body=b"{}")

    sent = await respond_in_process(chat_context(), whole, observe=lambda: list(calls))
    assert sent.status == 201 and sent.observed == [[201]]
    assert calls == [201]


async def test_callbacks_run_innermost_first_and_a_failing_one_stops_none(caplog):
    order: list[str] = []

    async def pipeline(ctx: Context) -> ProxyResponse:
        async def outer() -> None:
            order.append("outer")

        async def broken() -> None:
            order.append("broken")
            raise RuntimeError("a stage's bug")

        async def inner() -> None:
            order.append("inner")

        ctx.on_stream_end(outer)  # an outer stage registers before call_next
        ctx.on_stream_end(broken)
        ctx.on_stream_end(inner)  # the innermost, once its answer is back
        return ProxyResponse(200, [], body=b"")

    ctx = chat_context()
    await respond_in_process(ctx, pipeline)
    assert order == ["inner", "broken", "outer"]
    assert "a stream-end callback of request r failed" in caplog.text
    await ctx.end_stream()  # a second end runs nothing again
    assert order == ["inner", "broken", "outer"]
