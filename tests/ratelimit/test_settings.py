"""RELAYSCOPE_RATELIMIT_* settings: where the stage sits, when it is left out, which backend."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from relayscope.config import ConfigError, Settings
from relayscope.logs.spool import Spool
from relayscope.logs.stage import LoggingStage
from relayscope.logs.writer import LogWriter
from relayscope.pipeline import Services, default_stages
from relayscope.proxy.stream_usage import StreamUsageStage
from relayscope.ratelimit.limiter import MemoryLimiter
from relayscope.ratelimit.redis_limiter import RedisLimiter
from relayscope.ratelimit.stage import RateLimitStage
from relayscope.store.sql import SqlStore


@pytest.fixture
async def services(tmp_path):
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    redis = Redis.from_url("redis://127.0.0.1:6379")
    yield Services(store=store, writer=LogWriter(store, Spool(tmp_path / "spool")), redis=redis)
    await redis.aclose()
    await store.close()


def settings(**env: str) -> Settings:
    return Settings.from_env({f"RELAYSCOPE_RATELIMIT_{k.upper()}": v for k, v in env.items()})


async def test_the_stage_sits_after_logging_and_before_stream_usage(services):
    stages = default_stages(settings(), services)
    kinds = [type(stage) for stage in stages]
    assert kinds.index(LoggingStage) < kinds.index(RateLimitStage) < kinds.index(StreamUsageStage)


async def test_switched_off_it_is_not_in_the_chain(services):
    stages = default_stages(settings(enabled="false"), services)
    assert not any(isinstance(stage, RateLimitStage) for stage in stages)


async def test_backend_follows_the_redis_url_unless_told(services):
    def limiter(stages):
        (stage,) = [s for s in stages if isinstance(s, RateLimitStage)]
        return stage.limiter

    no_redis = Services(store=services.store, writer=services.writer)
    assert isinstance(limiter(default_stages(settings(), services)), RedisLimiter)
    assert isinstance(limiter(default_stages(settings(), no_redis)), MemoryLimiter)
    assert isinstance(limiter(default_stages(settings(backend="memory"), services)), MemoryLimiter)
    with pytest.raises(SystemExit, match="needs RELAYSCOPE_REDIS_URL"):
        default_stages(settings(backend="redis"), no_redis)
    with pytest.raises(ConfigError, match="Invalid RELAYSCOPE_RATELIMIT_BACKEND='disk'"):
        settings(backend="disk")


def test_settings_read_from_the_environment():
    options = settings(fail_closed="yes", redis_timeout="0.5", policy_ttl="10").ratelimit
    assert (options.fail_closed, options.redis_timeout, options.policy_ttl) == (True, 0.5, 10.0)
    with pytest.raises(SystemExit, match="RELAYSCOPE_RATELIMIT_FAIL_CLOSED"):
        settings(fail_closed="maybe")
