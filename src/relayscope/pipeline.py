"""The ordered stages a proxied request passes through, built once at start-up.

``STAGES`` is the one place that sets the order. Each entry is a stage module's
``build(settings, services)``, which returns None for a feature that is off: that
feature is left out of the chain instead of being checked on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from relayscope.budgets import stage as budgets
from relayscope.cache import build as cache
from relayscope.cache.stats import CacheStats
from relayscope.config import Settings
from relayscope.governance.redaction import RedactionRules
from relayscope.logs import stage as logs
from relayscope.logs.writer import LogWriter
from relayscope.prompts import stage as prompts
from relayscope.prompts.catalog import PromptCatalog
from relayscope.proxy import stream_usage
from relayscope.ratelimit import stage as ratelimit
from relayscope.retry import stage as retry
from relayscope.retry.provider_keys import ProviderKeys
from relayscope.store.base import Store
from relayscope.types import CallNext, Stage
from relayscope.virtualkeys import stage as virtualkeys


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
    clock: Callable[[], float] = time.time
    """Wall-clock epoch seconds, for key expiry and rotation grace (tests inject one)."""


StageBuilder = Callable[[Settings, Services], Stage | None]
"""A stage module's ``build``: the stage as configured, or None when its feature is off."""

STAGES: tuple[StageBuilder, ...] = (
    logs.build,  # outermost: sees every outcome, including other stages' refusals
    prompts.build,
    virtualkeys.build,  # after prompts: checks the model and token limit actually sent
    ratelimit.build,
    budgets.build,  # before the cache and retries: one check and one charge per request
    stream_usage.build,
    cache.build,
    retry.build,  # innermost: each attempt is one real upstream call
)


def default_stages(
    settings: Settings, services: Services, builders: Sequence[StageBuilder] = STAGES
) -> list[Stage]:
    """The stages ``builders`` make for ``settings``, outermost first."""
    return [stage for make in builders if (stage := make(settings, services)) is not None]


def build(stages: Sequence[Stage], terminal: CallNext) -> CallNext:
    """Fold ``stages`` (outermost first) around ``terminal`` into one callable."""
    handler = terminal
    for stage in reversed(stages):
        handler = _bind(stage, handler)
    return handler


def _bind(stage: Stage, call_next: CallNext) -> CallNext:
    # Plain functions handing back the stage's coroutine: an ``async def`` wrapper
    # would add a frame that every suspension of the request passes through.
    if type(stage).applies is Stage.applies:  # always applies: no per-request check
        return lambda ctx: stage(ctx, call_next)
    applies = stage.applies
    return lambda ctx: stage(ctx, call_next) if applies(ctx) else call_next(ctx)
