"""Rate-limit settings, read from ``RELAYSCOPE_RATELIMIT_*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from relayscope.config import setting


@dataclass(frozen=True, kw_only=True)
class RateLimitSettings:
    enabled: bool = setting(
        True, "Enforce Helicone-RateLimit-Policy headers and standing policies (off: no stage)."
    )
    backend: Literal["auto", "memory", "redis"] = setting(
        "auto",
        "Where counters live: 'memory' (one gateway process), 'redis' (shared by replicas) "
        "or 'auto' (redis when RELAYSCOPE_REDIS_URL is set).",
    )
    fail_closed: bool = setting(
        False,
        "When Redis cannot be reached (or the standing policies have never been read), "
        "refuse requests under a policy with 503 instead of serving them unlimited.",
    )
    redis_timeout: float = setting(
        1.0, "Seconds a Redis rate-limit decision may take before Redis counts as unreachable."
    )
    redis_retry_interval: float = setting(
        1.0, "Seconds to skip Redis after it failed, before trying it again."
    )
    policy_ttl: float = setting(
        2.0, "Seconds standing policies are served from memory before they are re-read."
    )
