"""The pipeline's wiring: every stage runs in order, and optional stages step aside."""

from __future__ import annotations

import pytest

from relayscope.cache.memory import MemoryBackend
from relayscope.cache.settings import CacheSettings
from relayscope.cache.stage import CacheStage
from relayscope.cache.stats import CacheStats
from relayscope.context import Context, ProxyResponse
from relayscope.errors import InvalidHeader
from relayscope.pipeline import build
from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.routing import Allowlist, Router
from relayscope.retry.stage import RetryStage
from relayscope.testing.contexts import chat_context
from relayscope.types import CallNext, Stage


class Recorder(Stage):
    """A stage that notes its name on the way in, optionally only for some requests."""

    def __init__(self, name: str, seen: list[str], applies_to: str | None = None) -> None:
        self.name, self.seen, self.applies_to = name, seen, applies_to

    def applies(self, ctx: Context) -> bool:
        return self.applies_to is None or self.applies_to in ctx.helicone

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        self.seen.append(self.name)
        return await call_next(ctx)


async def answer(ctx: Context) -> ProxyResponse:
    return ProxyResponse(200, [], body=b"{}")


async def test_stages_run_outermost_first_and_optional_ones_only_when_they_apply():
    seen: list[str] = []
    handler = build(
        [
            Recorder("logging", seen),
            Recorder("cache", seen, applies_to="helicone-cache-enabled"),
            Recorder("retry", seen, applies_to="helicone-retry-enabled"),
        ],
        answer,
    )
    assert (await handler(chat_context())).status == 200
    assert seen == ["logging"]
    seen.clear()
    await handler(chat_context({"helicone-retry-enabled": "true"}))
    assert seen == ["logging", "retry"]
    seen.clear()
    await handler(chat_context({"helicone-cache-enabled": "1", "helicone-retry-enabled": "1"}))
    assert seen == ["logging", "cache", "retry"]


def retry_stage() -> RetryStage:
    router = Router(ProviderRegistry(), Allowlist(()))
    return RetryStage(router=router, provider_keys=None, anthropic_max_tokens=1024)


def cache_stage() -> CacheStage:
    stats = CacheStats()
    backend = MemoryBackend(max_bytes=1 << 20, stats=stats)
    return CacheStage(CacheSettings(), backend, stats=stats, embedder=None)


@pytest.mark.parametrize(
    ("make_stage", "header", "value"),
    [
        (retry_stage, "helicone-retry-enabled", "maybe"),
        (retry_stage, "helicone-fallbacks", "not json"),
    ],
)
async def test_a_malformed_feature_header_still_reaches_its_stage(make_stage, header, value):
    handler = build([make_stage()], answer)
    with pytest.raises(InvalidHeader):
        await handler(chat_context({header: value}))
    assert (await handler(chat_context())).status == 200, "without the header: straight through"


async def test_a_cache_flag_helicone_tolerates_reaches_the_cache_stage_and_is_warned_about():
    # Helicone turns the cache off for any value but "true"; so does the stage, and says so.
    handler = build([cache_stage()], answer)
    ctx = chat_context({"helicone-cache-enabled": "sometimes"})
    assert (await handler(ctx)).status == 200
    assert ctx.warnings and ctx.warnings[0].startswith("Helicone-Cache-Enabled: ")
