"""Counters of what the cache did in this process, for the API and metrics."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    """Requests answered from the cache (exact or semantic)."""
    semantic_hits: int = 0
    misses: int = 0
    """Cache-enabled requests that went to the provider."""
    stores: int = 0
    """Responses stored."""
    evictions: int = 0
    """Memory backend: entries dropped to stay under ``max_bytes``."""
    backend_errors: int = 0
    """Requests that bypassed the cache because its backend (Redis) failed or was down."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
