"""A request's price, computed once and shared by whatever needs it: a rate limit by
cost (``u=cents``) and the log record.

Pricing parses the response's usage and looks the model up in genai-prices' data:
work for a worker thread (the log writer's, or ``request_price``'s), never the
event loop.
"""

from __future__ import annotations

import asyncio
import re

from relayscope.capture import parse_usage
from relayscope.context import Context, Price
from relayscope.logs.cost import cost_usd
from relayscope.providers.formats import Parsed, body_format

_UNPRICED_PATHS = ("/audio/transcriptions", "/audio/translations", "/audio/speech")
"""Audio is billed by duration, characters or audio tokens at their own rates: the
log keeps its usage, and no cost rather than a wrong one."""


def upstream_price(
    pricing_id: str | None, model: str | None, status: int, parsed: Parsed, *, priced: bool
) -> float | None:
    """USD for the upstream call that produced ``parsed`` (None: no known price)."""
    if not priced or status >= 400:
        return None
    return cost_usd(
        pricing_id,
        parsed.model or model,
        input_tokens=parsed.prompt_tokens,
        output_tokens=parsed.completion_tokens,
        cache_read_tokens=parsed.cache_read_tokens,
        cache_write_tokens=parsed.cache_write_tokens,
    )


async def request_price(ctx: Context, status: int) -> float | None:
    """``ctx``'s upstream price, computed on a worker thread the first time it is asked
    for, then kept on ``ctx.price`` (the log record takes it from there)."""
    if ctx.price is None:
        ctx.price = Price(await asyncio.to_thread(_price_now, ctx, status))
    return ctx.price.usd


def _price_now(ctx: Context, status: int) -> float | None:
    fmt = body_format(ctx.target.format, ctx.method, ctx.target.url)
    parsed = parse_usage(fmt, ctx.upstream_body, stream=ctx.upstream_stream)
    return upstream_price(pricing_id(ctx), logged_model(ctx), status, parsed, priced=priced(ctx))


def priced(ctx: Context) -> bool:
    """Whether the request's price can be known (a provider with prices, not audio)."""
    provider = ctx.target.provider
    return (provider is None or provider.pricing_id is not None) and not _unpriced(ctx.target.url)


def pricing_id(ctx: Context) -> str | None:
    provider = ctx.target.provider
    return provider.pricing_id if provider else None


def logged_model(ctx: Context) -> str | None:
    """The model the request asked for: in its body, or in a Gemini-style path."""
    return ctx.model or _path_model(ctx.target.url)


def _unpriced(url: str) -> bool:
    return url.rstrip("/").endswith(_UNPRICED_PATHS)


def _path_model(url: str) -> str | None:
    """The model a Gemini-style path names (``.../models/{model}:generateContent``)."""
    if ":" not in url:
        return None
    found = _MODEL_IN_PATH.search(url)
    return found.group(1) if found else None


_MODEL_IN_PATH = re.compile(r"/models/([^/:]{1,200}):[A-Za-z]+$")
