"""Budget settings, read from ``RELAYSCOPE_BUDGETS_*``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from relayscope.config import setting


@dataclass(frozen=True, kw_only=True)
class BudgetSettings:
    enabled: bool = setting(True, "Enforce budgets (off: no stage, budgets are not checked).")
    backend: Literal["auto", "memory", "redis"] = setting(
        "auto",
        "Where spend counters live: 'memory' (one gateway process), 'redis' (shared by "
        "replicas) or 'auto' (redis when RELAYSCOPE_REDIS_URL is set).",
    )
    book_ttl: float = setting(
        2.0, "Seconds budgets and team membership are served from memory before a re-read."
    )
    reconcile_interval: float = setting(
        60.0,
        "Seconds between reconciles of the spend counters with the log store (also run "
        "at start-up): a counter below the store's sum is raised to it.",
    )
    redis_timeout: float = setting(
        1.0, "Seconds a Redis counter read or charge may take before Redis counts as down."
    )
    fail_closed: bool = setting(
        False,
        "When the counters cannot be read (Redis down), refuse requests under a budget "
        "with 503 instead of serving them unchecked.",
    )
