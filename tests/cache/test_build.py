"""Where the cache stage sits in the pipeline, and which backend settings choose."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from redis.asyncio import Redis

from relayscope.cache.memory import MemoryBackend
from relayscope.cache.redis_backend import RedisBackend
from relayscope.cache.settings import CacheSettings
from relayscope.cache.stage import CacheStage
from relayscope.config import ConfigError, Settings
from relayscope.logs.spool import Spool
from relayscope.logs.writer import LogWriter
from relayscope.pipeline import Services, default_stages
from relayscope.proxy.stream_usage import StreamUsageStage
from relayscope.store.sql import SqlStore


def stages(redis: Redis | None = None, **cache: object) -> list[object]:
    settings = Settings.from_env({}, cache=CacheSettings(**cache))
    store = SqlStore(f"sqlite:///{tempfile.gettempdir()}/never-opened.db")  # engine only
    writer = LogWriter(store, Spool(Path(tempfile.mkdtemp()) / "spool"))  # never started
    return default_stages(settings, Services(store=store, writer=writer, redis=redis))


def test_the_cache_sits_right_after_stream_usage():
    chain = stages()
    position = next(i for i, stage in enumerate(chain) if isinstance(stage, CacheStage))
    assert isinstance(chain[position - 1], StreamUsageStage)


def test_a_disabled_cache_is_not_in_the_chain():
    assert not any(isinstance(stage, CacheStage) for stage in stages(enabled=False))


async def test_the_backend_follows_the_settings():
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        by_kind = {
            kind: next(s for s in stages(redis, backend=kind) if isinstance(s, CacheStage))
            for kind in ("auto", "memory", "redis")
        }
        assert isinstance(by_kind["auto"].backend, RedisBackend)
        assert isinstance(by_kind["memory"].backend, MemoryBackend)
        assert isinstance(by_kind["redis"].backend, RedisBackend)
        auto_without_redis = next(s for s in stages() if isinstance(s, CacheStage))
        assert isinstance(auto_without_redis.backend, MemoryBackend)
        with pytest.raises(SystemExit, match="RELAYSCOPE_REDIS_URL"):
            stages(backend="redis")
        with pytest.raises(ConfigError, match="RELAYSCOPE_CACHE_BACKEND='memcached'"):
            Settings.from_env({"RELAYSCOPE_CACHE_BACKEND": "memcached"})
    finally:
        await redis.aclose()
