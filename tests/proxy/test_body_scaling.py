"""What a request costs the gateway grows linearly with its body, never faster.

Measured in-process as the CPU time of the event loop's thread (the test's own
thread): the machine's load stretches wall time, but not the work the loop does.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from relayscope.cache.settings import CacheSettings
from relayscope.testing.bodies import completion_body, openai_stream
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.loop_gateway import LoopGateway, running_gateway

CHAT = "/openai/v1/chat/completions"
CACHE = {"Helicone-Cache-Enabled": "true"}
SIZES = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
DECADE_BOUND = 10 * 2.5
"""Ten times the body may cost ten times the work, with a 2.5x allowance for noise."""
REPEATS = 3
SSE = {"content-type": "text/event-stream"}


Request = Callable[[], Awaitable[httpx.Response]]


async def loop_cpu(request: Request) -> tuple[float, httpx.Response]:
    """CPU seconds this thread (the gateway's event loop) spent on ``request``."""
    started = time.thread_time()
    response = await request()
    return time.thread_time() - started, response


async def cheapest(request: Request) -> float:
    """The least loop CPU of a few runs: noise only ever adds time."""
    best = float("inf")
    for _ in range(REPEATS):
        cpu, response = await loop_cpu(request)
        assert response.status_code == 200, response.text[:500]
        best = min(best, cpu)
    return best


def chat(content: str = "hi", **fields: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **fields}


async def test_a_cache_hit_on_a_20000_event_stream_costs_the_gateway_under_50_ms(
    tmp_path, fake: FakeProvider
):
    # The fake streams one event per word of its echo: a 20,000-word prompt, 20,000 events.
    question = chat(" ".join(f"w{i}" for i in range(20_000)), stream=True)
    async with running_gateway(tmp_path, fake.url) as gw:
        miss = await gw.client.post(CHAT, json=question, headers=CACHE)
        assert miss.headers["helicone-cache"] == "MISS"
        assert miss.content.count(b"\n\n") > 20_000
        await gw.record(miss.headers["helicone-id"])

        hits = []
        for _ in range(REPEATS):
            hits.append(await loop_cpu(lambda: gw.client.post(CHAT, json=question, headers=CACHE)))
            if hits[-1][0] > 1.0:
                break  # already far over: no need to repeat it
        cpu, hit = min(hits, key=lambda pair: pair[0])
        assert hit.headers["helicone-cache"] == "HIT"
        assert hit.content == miss.content
        assert fake.calls == 1

    # What it costs this loop just to hand the same bytes to the client, for comparison.
    async def same_bytes(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": hit.content})

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=same_bytes), base_url="http://bare"
    ) as bare:
        baseline = min([(await loop_cpu(lambda: bare.post("/", json=question)))[0] for _ in hits])
    assert cpu - baseline < 0.050, f"hit: {cpu * 1000:.1f} ms, bare: {baseline * 1000:.1f} ms"


async def _request_body(gw: LoopGateway, fake: FakeProvider, size: int) -> float:
    body = chat("word " * (size // 5), max_tokens=3)
    return await cheapest(lambda: gw.client.post(CHAT, json=body))


async def _whole_response(gw: LoopGateway, fake: FakeProvider, size: int) -> float:
    fake.set_default(Behaviour(body=completion_body(size)))
    return await cheapest(lambda: gw.client.post(CHAT, json=chat()))


async def _streamed_response(gw: LoopGateway, fake: FakeProvider, size: int) -> float:
    fake.set_default(Behaviour(body=openai_stream(size)[0], headers=SSE))
    return await cheapest(lambda: gw.client.post(CHAT, json=chat(stream=True)))


async def _cache_hit(gw: LoopGateway, fake: FakeProvider, size: int) -> float:
    fake.set_default(Behaviour(body=openai_stream(size)[0], headers=SSE))
    question = chat(f"cache me at {size}", stream=True)
    miss = await gw.client.post(CHAT, json=question, headers=CACHE)
    assert miss.headers["helicone-cache"] == "MISS"

    async def hit() -> httpx.Response:
        response = await gw.client.post(CHAT, json=question, headers=CACHE)
        assert response.headers["helicone-cache"] == "HIT"
        return response

    return await cheapest(hit)


async def test_hot_path_cost_grows_linearly_from_1_kb_to_10_mb(tmp_path, fake: FakeProvider):
    kinds = {
        "cache hit": _cache_hit,
        "streamed response": _streamed_response,
        "non-streamed response": _whole_response,
        "request body": _request_body,
    }
    figures: dict[str, list[str]] = {}
    room = 64 * 1024 * 1024
    cache = CacheSettings(max_entry_bytes=room, max_bytes=4 * room)
    async with running_gateway(tmp_path, fake.url, max_body_bytes=room, cache=cache) as gw:
        for kind, measure in kinds.items():
            previous = None
            for size in SIZES:
                cpu = await measure(gw, fake, size)
                figures.setdefault(kind, []).append(f"{size:>10,} B: {cpu * 1000:8.2f} ms")
                # Checked decade by decade, so that a quadratic path fails at 1 MB
                # instead of spending minutes on 10 MB.
                if previous is not None:
                    assert cpu / previous <= DECADE_BOUND, (
                        f"{kind}: {size:,} B cost {cpu / previous:.1f}x what a tenth of it "
                        f"did\n" + "\n".join(figures[kind])
                    )
                previous = cpu
    print("\n".join(f"{kind}:\n  " + "\n  ".join(rows) for kind, rows in figures.items()))
