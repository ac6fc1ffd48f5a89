"""The ordered stages a proxied request passes through, built once at start-up.

``default_stages`` is the one place that sets the order. A feature that is off is
left out of the chain instead of being checked on every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from relayscope.config import Settings
from relayscope.context import Context, ProxyResponse
from relayscope.logs.stage import LoggingStage
from relayscope.logs.writer import LogWriter
from relayscope.proxy.stream_usage import StreamUsageStage
from relayscope.ratelimit.stage import build_stage as rate_limit_stage
from relayscope.store.base import Store
from relayscope.types import CallNext, Stage


@dataclass(frozen=True, slots=True)
class Services:
    """Shared resources the stages are built with."""

    store: Store
    writer: LogWriter
    redis: Redis | None = None
    """Shared Redis client when ``RELAYSCOPE_REDIS_URL`` is set (cache, rate limits)."""


def default_stages(settings: Settings, services: Services) -> list[Stage]:
    """Outermost first: logging sees every outcome, including other stages' refusals."""
    stages: list[Stage] = [LoggingStage(services.writer)]
    if settings.ratelimit.enabled:
        stages.append(rate_limit_stage(settings, services))
    stages.append(StreamUsageStage())
    return stages


def build(stages: Sequence[Stage], terminal: CallNext) -> CallNext:
    """Fold ``stages`` (outermost first) around ``terminal`` into one callable."""
    handler = terminal
    for stage in reversed(stages):
        handler = _bind(stage, handler)
    return handler


def _bind(stage: Stage, call_next: CallNext) -> CallNext:
    async def handler(ctx: Context) -> ProxyResponse:
        return await stage(ctx, call_next)

    return handler
