"""A request is priced once: on a worker thread when the request path needs the price
(a ``u=cents`` rate limit), and the log record takes that price instead of pricing
again; otherwise the record prices it where it is built."""

from __future__ import annotations

import threading

import orjson

from relayscope.context import Context, Target
from relayscope.logs.price import request_price
from relayscope.logs.stage import build_record, record_inputs
from relayscope.providers.registry import ProviderRegistry
from relayscope.testing.contexts import chat_context

ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Echo: hi"}}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 200, "total_tokens": 1100},
    }
)


def answered() -> Context:
    openai = ProviderRegistry().get("openai")
    assert openai is not None
    ctx = chat_context(
        target=Target(openai, f"{openai.base_url}/v1/chat/completions", "openai", "openai")
    )
    ctx.upstream_body.add(ANSWER)
    return ctx


async def test_a_price_asked_for_on_the_request_path_is_the_records(pricing):
    ctx = answered()
    usd = await request_price(ctx, 200)
    assert usd is not None and usd > 0
    assert await request_price(ctx, 200) == usd  # kept, not priced again
    assert len(pricing) == 1 and pricing[0] != threading.main_thread().name

    record = build_record(record_inputs(ctx, 200, 10.0, None))
    assert record.cost_usd == usd and len(pricing) == 1


def test_without_it_the_record_prices_the_request_itself(pricing):
    ctx = answered()
    inputs = record_inputs(ctx, 200, 10.0, None)
    assert "price_usd" not in inputs
    record = build_record(inputs)
    assert record.cost_usd is not None and record.cost_usd > 0 and len(pricing) == 1
