"""Builds the cache stage and its backend from settings (the stage is left out when off)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio import Redis

from relayscope.cache import embedding
from relayscope.cache.backend import Backend
from relayscope.cache.erase import CacheEraser, Erasable
from relayscope.cache.memory import MemoryBackend
from relayscope.cache.persist import CachePersistence
from relayscope.cache.redis_backend import RedisBackend
from relayscope.cache.settings import CacheSettings
from relayscope.cache.stage import CacheStage
from relayscope.cache.stats import CacheStats
from relayscope.store.base import Store
from relayscope.store.database import Database

if TYPE_CHECKING:
    from relayscope.config import Settings
    from relayscope.pipeline import Services

BACKENDS = ("auto", "memory", "redis")


def build(settings: Settings, services: Services) -> CacheStage | None:
    options = settings.cache
    if not options.enabled:
        return None
    backend = _backend(
        options,
        store=services.store,
        redis=services.redis,
        redis_prefix=settings.redis_prefix,
        stats=services.cache_stats,
    )
    embedder = embedding.Embedder() if options.semantic and embedding.available() else None
    return CacheStage(options, backend, stats=services.cache_stats, embedder=embedder)


def _backend(
    settings: CacheSettings,
    *,
    store: Store,
    redis: Redis | None,
    redis_prefix: str,
    stats: CacheStats,
) -> Backend:
    kind = settings.backend.strip().lower()
    if kind not in BACKENDS:
        raise SystemExit(f"RELAYSCOPE_CACHE_BACKEND must be one of {', '.join(BACKENDS)}")
    if kind == "redis" and redis is None:
        raise SystemExit("RELAYSCOPE_CACHE_BACKEND=redis needs RELAYSCOPE_REDIS_URL")
    if kind != "memory" and redis is not None:
        return RedisBackend(
            redis,
            prefix=redis_prefix,
            timeout=settings.redis_timeout,
            retry_interval=settings.redis_retry_interval,
            max_per_partition=settings.semantic_max_entries,
        )
    persistence = CachePersistence(store.database) if settings.persist else None
    return MemoryBackend(
        max_bytes=settings.max_bytes,
        stats=stats,
        max_per_partition=settings.semantic_max_entries,
        persistence=persistence,
    )


def create_cache_eraser(
    settings: CacheSettings,
    *,
    stage: CacheStage | None,
    database: Database,
    redis: Redis | None,
    redis_prefix: str,
) -> CacheEraser:
    """Deletes a user's entries from this process's cache stage (if any), the persisted
    entries and Redis (if configured), whatever the cache's current backend."""
    sources: list[Erasable] = []
    backend = stage.backend if stage is not None else None
    if isinstance(backend, MemoryBackend):
        sources.append(backend)
    sources.append(CachePersistence(database))
    if isinstance(backend, RedisBackend):
        sources.append(backend)
    elif redis is not None:
        sources.append(
            RedisBackend(
                redis,
                prefix=redis_prefix,
                timeout=settings.redis_timeout,
                retry_interval=settings.redis_retry_interval,
                max_per_partition=settings.semantic_max_entries,
            )
        )
    return CacheEraser(sources, database)
