"""The ordered stages a proxied request passes through, built once at start-up.

``default_stages`` is the one place that sets the order. A feature that is off is
left out of the chain instead of being checked on every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from relayscope.cache.build import create_cache_stage
from relayscope.cache.stats import CacheStats
from relayscope.config import Settings
from relayscope.governance.redaction import RedactionRules
from relayscope.logs.stage import LoggingStage
from relayscope.logs.writer import LogWriter
from relayscope.prompts.catalog import PromptCatalog
from relayscope.prompts.stage import PromptStage
from relayscope.proxy.stream_usage import StreamUsageStage
from relayscope.ratelimit.stage import build_stage as rate_limit_stage
from relayscope.retry.provider_keys import ProviderKeys
from relayscope.retry.stage import RetryStage
from relayscope.store.base import Store
from relayscope.types import CallNext, Stage


@dataclass(frozen=True, slots=True)
class Services:
    """Shared resources the stages are built with."""

    store: Store
    writer: LogWriter
    redis: Redis | None = None
    """Shared Redis client when ``RELAYSCOPE_REDIS_URL`` is set (cache, rate limits)."""
    redaction: RedactionRules | None = None
    """Per-org redaction of stored bodies."""
    provider_keys: ProviderKeys | None = None
    """Operator-configured provider keys, for cross-provider fallbacks."""
    cache_stats: CacheStats = field(default_factory=CacheStats)
    """What the response cache did, for the API and metrics."""
    prompts: PromptCatalog | None = None
    """Prompt look-ups, shared with the API so its writes invalidate the stage's cache."""


def default_stages(settings: Settings, services: Services) -> list[Stage]:
    """Outermost first: logging sees every outcome, including other stages' refusals."""
    stages: list[Stage] = [
        LoggingStage(
            services.writer, services.redaction, max_body_bytes=settings.log_max_body_bytes
        ),
        *([PromptStage(services.prompts)] if settings.prompts.enabled and services.prompts else []),
    ]
    if settings.ratelimit.enabled:
        stages.append(rate_limit_stage(settings, services))
    stages.append(StreamUsageStage())
    if settings.cache.enabled:
        stages.append(
            create_cache_stage(
                settings.cache,
                store=services.store,
                redis=services.redis,
                redis_prefix=settings.redis_prefix,
                stats=services.cache_stats,
            )
        )
    if settings.retry.enabled:
        stages.append(RetryStage.from_settings(settings, services.provider_keys))
    return stages


def build(stages: Sequence[Stage], terminal: CallNext) -> CallNext:
    """Fold ``stages`` (outermost first) around ``terminal`` into one callable."""
    handler = terminal
    for stage in reversed(stages):
        handler = _bind(stage, handler)
    return handler


def _bind(stage: Stage, call_next: CallNext) -> CallNext:
    # Plain functions handing back the stage's coroutine: an ``async def`` wrapper
    # would add a frame that every suspension of the request passes through.
    applies = getattr(stage, "applies", None)
    if applies is None:
        return lambda ctx: stage(ctx, call_next)
    return lambda ctx: stage(ctx, call_next) if applies(ctx) else call_next(ctx)
