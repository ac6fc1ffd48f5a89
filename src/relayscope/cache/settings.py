"""Settings of the response cache, read from ``RELAYSCOPE_CACHE_*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from relayscope.config import setting

DAY = 24 * 60 * 60


@dataclass(frozen=True, kw_only=True)
class CacheSettings:
    enabled: bool = setting(
        True,
        "Answer requests that send Helicone-Cache-Enabled: true from the response cache "
        "(false: the cache stage is left out and cache headers are ignored).",
    )
    backend: Literal["auto", "memory", "redis"] = setting(
        "auto",
        "Where entries live: memory (this process), redis (shared by replicas), or auto "
        "(redis when RELAYSCOPE_REDIS_URL is set, else memory).",
    )
    max_bytes: int = setting(
        256 * 1024 * 1024,
        "Memory backend: bytes of cached responses kept, least recently used out.",
    )
    max_entry_bytes: int = setting(
        8 * 1024 * 1024, "Largest single response stored; larger ones are served but not cached."
    )
    default_ttl: int = setting(
        7 * DAY, "Seconds an entry lives when the request has no s-maxage or max-age."
    )
    max_ttl: int = setting(
        365 * DAY, "Longest TTL Cache-Control: s-maxage or max-age may set, in seconds."
    )
    max_bucket_size: int = setting(
        1000, "Largest Helicone-Cache-Bucket-Max-Size accepted (400 beyond)."
    )
    persist: bool = setting(
        False, "Memory backend: keep entries in the embedded store so they survive restarts."
    )
    semantic: bool = setting(
        True,
        "Honour Helicone-Cache-Semantic: true (false: such requests use the exact cache "
        "only and get Helicone-Cache-Semantic: unavailable).",
    )
    semantic_preload: bool = setting(
        False, "Load the embedding model at start-up instead of on the first semantic request."
    )
    default_similarity: float = setting(
        0.85,
        "Similarity a semantic match needs when Helicone-Cache-Similarity is absent (chosen "
        "from bench/results/semantic.md: precision 1.0, recall 0.65 on the labelled set).",
    )
    semantic_max_entries: int = setting(
        20_000,
        "Vectors kept per semantic partition (org, keys, model, parameters, system prompt "
        "and earlier turns); a full partition drops the soonest-expiring one.",
    )
    redis_timeout: float = setting(
        0.5, "Seconds a Redis cache call may take before the request bypasses the cache."
    )
    redis_retry_interval: float = setting(
        2.0, "After a Redis failure, seconds the cache is bypassed before Redis is tried again."
    )
