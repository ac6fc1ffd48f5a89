"""What a request spent, priced as its log record is: nothing for a cache hit, an
error or a refusal; for a fallback, the price of the provider that served it (the
retry stage leaves that provider's route on ``ctx.target``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from relayscope.budgets.model import Spend
from relayscope.capture import parse_usage
from relayscope.context import Context, Price
from relayscope.logs.price import logged_model, priced, pricing_id, upstream_price
from relayscope.providers.formats import body_format

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def request_spend(ctx: Context) -> Spend:
    """``ctx``'s cost and tokens once it has ended (parsed on a worker thread)."""
    status = ctx.status
    if status is None or status >= 400 or (ctx.cache is not None and ctx.cache.hit):
        return Spend()
    return await asyncio.to_thread(_spend_now, ctx, status)


def _spend_now(ctx: Context, status: int) -> Spend:
    fmt = body_format(ctx.target.format, ctx.method, ctx.target.url)
    parsed = parse_usage(fmt, ctx.upstream_body, stream=ctx.upstream_stream)
    if ctx.price is None:
        # Shared with the log record, which then need not price the request again.
        ctx.price = Price(
            upstream_price(pricing_id(ctx), logged_model(ctx), status, parsed, priced=priced(ctx))
        )
    return Spend(ctx.price.usd or 0.0, parsed.total_tokens or 0)
