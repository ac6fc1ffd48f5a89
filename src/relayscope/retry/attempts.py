"""One route, tried until it answers or its retries run out; every attempt is recorded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

import aiohttp
import orjson

from relayscope.context import ByteStream, Context, ProxyResponse
from relayscope.errors import GatewayError, UpstreamError
from relayscope.proxy.upstream import UpstreamStream
from relayscope.retry.fallbacks import Codes
from relayscope.retry.outcome import RetryOutcome
from relayscope.retry.policy import RETRYABLE_STATUSES, RetryPolicy, retry_after_s
from relayscope.types import CallNext


@dataclass(slots=True)
class Outcome:
    """What one attempt ended with: a response, or an error the client would get."""

    response: ProxyResponse | None = None
    error: GatewayError | None = None
    retryable: bool = False
    retry_after: float | None = None
    broken: bool = False
    """No usable answer at all: the connection failed, or the stream broke before its start."""

    @property
    def status(self) -> int:
        if self.response is not None:
            return self.response.status
        assert self.error is not None
        return self.error.status

    def falls_back(self, codes: Codes) -> bool:
        return self.broken or self.status in codes

    async def discard(self) -> None:
        """Release an answer that will not be sent (its upstream connection)."""
        if self.response is not None and self.response.stream is not None:
            await self.response.stream.aclose()


async def with_retries(
    ctx: Context, call_next: CallNext, policy: RetryPolicy, route_index: int
) -> Outcome:
    """The first answer that is not worth retrying, or the last one."""
    retry = 0
    while True:
        outcome = await attempt(ctx, call_next, route_index)
        if not outcome.retryable or retry >= policy.retries:
            return outcome
        await outcome.discard()
        # Cancelled here when the client hangs up: no attempt is made after that.
        await asyncio.sleep(policy.delay_s(retry, outcome.retry_after))
        retry += 1


async def attempt(ctx: Context, call_next: CallNext, route_index: int) -> Outcome:
    ctx.error = None
    started = time.perf_counter()
    try:
        response = await call_next(ctx)
    except UpstreamError as exc:
        _record(ctx, route_index, started, exc.status, exc.message)
        return Outcome(error=exc, retryable=True, broken=True)
    if response.stream is not None and response.status < 400:
        # Retrying stays possible only until the client has been sent something.
        try:
            response.stream = await _peeked(response.stream)
        except (aiohttp.ClientError, TimeoutError, UpstreamError) as exc:
            error = ctx.error or f"stream broke before its first byte: {exc.__class__.__name__}"
            _record(ctx, route_index, started, response.status, error)
            failed = ProxyResponse(response.status, response.headers, stream=_failing(exc))
            return Outcome(failed, retryable=True, broken=True)
    status = response.status
    _record(ctx, route_index, started, status, _error_text(response) if status >= 400 else None)
    if status not in RETRYABLE_STATUSES:
        return Outcome(response)
    return Outcome(response, retryable=True, retry_after=retry_after_s(response.headers))


def record_skip(ctx: Context, route_index: int, provider: str, reason: str) -> None:
    _outcome(ctx).add(
        fallback_index=route_index,
        provider=provider,
        model=None,
        status=None,
        latency_ms=None,
        error=f"not tried: {reason}",
    )


def _record(
    ctx: Context, route_index: int, started: float, status: int | None, error: str | None
) -> None:
    _outcome(ctx).add(
        fallback_index=route_index,
        provider=ctx.target.provider_name,
        model=ctx.model,
        status=status,
        latency_ms=round((time.perf_counter() - started) * 1000, 3),
        error=error,
    )


def _outcome(ctx: Context) -> RetryOutcome:
    assert ctx.retry is not None, "the retry stage sets ctx.retry before any attempt"
    return ctx.retry


def _error_text(response: ProxyResponse) -> str:
    message = None
    if response.body:
        try:
            data = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
    if isinstance(message, str) and message:
        return message[:500]
    return f"provider answered HTTP {response.status}"


async def _peeked(stream: ByteStream) -> ByteStream:
    """``stream``, its first chunk read ahead (closed if reading it fails)."""
    if isinstance(stream, UpstreamStream):
        await stream.peek()
        return stream
    # Another terminal (a test's): one layer to hold the chunk read ahead.
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        return stream
    except BaseException:
        await stream.aclose()
        raise
    return _chain(first, stream)


async def _chain(first: bytes, rest: ByteStream) -> AsyncGenerator[bytes, None]:
    async with aclosing(rest):
        yield first
        async for chunk in rest:
            yield chunk


async def _failing(exc: BaseException) -> AsyncGenerator[bytes, None]:
    raise exc
    yield b""  # makes this an async generator
