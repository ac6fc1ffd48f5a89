"""Sending the pipeline's answer to the client, and ending the request.

This is the one place a response stream is driven: each chunk goes from the stream
the pipeline returned (the upstream's own, or one re-framing layer over it) straight
to the client, through ``Context.client_filter`` when a stage set one. Each chunk is
what the upstream reader held when asked (``readany``): chunks that arrived together
leave in one write, and none waits for another, so the first token is never delayed.
The server's ``send`` waits while the client's socket is full, and no chunk is read
from the upstream meanwhile: a slow client holds its provider stream back.

Stages that need the end of a request register a callback (``Context.on_stream_end``)
instead of wrapping the stream; ``Context.end_stream`` runs them once, whatever the
ending, before the response's last byte is sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import aclosing

from relayscope.context import ByteStream, Context
from relayscope.types import CallNext, Send

CLIENT_GONE = "client disconnected before the response completed"


async def respond(
    ctx: Context, pipeline: CallNext, send: Send, streaming: Callable[[], None] | None = None
) -> None:
    """Run ``ctx`` through ``pipeline`` and send the answer; the request ends here.

    ``streaming`` is called when a streamed response starts (the proxy's in-flight
    limit stops counting the request then)."""
    try:
        response = await pipeline(ctx)
    except asyncio.CancelledError:
        ctx.cancelled = True
        ctx.error = "client disconnected before the response started"
        await ctx.end_stream()
        raise
    except BaseException as exc:
        ctx.error = ctx.error or _described(exc)
        await ctx.end_stream()
        raise
    headers = response.headers
    headers.extend(ctx.response_headers)
    headers.append((b"helicone-id", ctx.request_id.encode()))
    headers.append((b"helicone-status", b"success" if response.status < 400 else b"error"))
    ctx.status = response.status
    if response.stream is None:
        await ctx.end_stream()
        await send_whole(send, response.status, headers, response.body)
        return
    if streaming is not None:
        streaming()
    await _send_stream(ctx, send, response.status, headers, response.stream)


async def send_whole(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_stream(
    ctx: Context, send: Send, status: int, headers: list[tuple[bytes, bytes]], stream: ByteStream
) -> None:
    try:
        async with aclosing(stream):
            try:
                await send({"type": "http.response.start", "status": status, "headers": headers})
            except Exception:
                _client_gone(ctx)
                raise
            timing = True
            rewrite = ctx.client_filter
            async for chunk in stream:
                if rewrite is not None:
                    chunk = rewrite.feed(chunk)
                    if not chunk:
                        continue
                if timing:
                    timing = _timed(ctx, chunk)
                try:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except Exception:  # the server could not write: the client is gone
                    _client_gone(ctx)
                    raise
            rest = rewrite.end() if rewrite is not None else b""
            if rest:
                try:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})
                except Exception:
                    _client_gone(ctx)
                    raise
    except asyncio.CancelledError:
        _client_gone(ctx)
        raise
    except BaseException as exc:
        if not ctx.cancelled:
            ctx.error = ctx.error or _described(exc)
        raise
    finally:
        await ctx.end_stream()
    await send({"type": "http.response.body", "body": b""})


def _client_gone(ctx: Context) -> None:
    ctx.cancelled = True
    ctx.error = ctx.error or CLIENT_GONE


def _timed(ctx: Context, chunk: bytes) -> bool:
    """Note when ``chunk`` is sent if it is the first, or the first with output; False
    once the first token has gone (nothing more to time)."""
    now = time.perf_counter()
    if ctx.first_byte_at is None:
        ctx.first_byte_at = now
    if ctx.first_token is None or ctx.first_token in chunk:
        ctx.first_token_at = now
        return False
    return True


def _described(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"
