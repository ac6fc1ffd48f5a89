"""Evaluator settings, read from ``RELAYSCOPE_EVALUATORS_*``."""

from __future__ import annotations

from dataclasses import dataclass

from relayscope.config import ConfigError, setting


@dataclass(frozen=True, kw_only=True)
class EvaluatorSettings:
    live: bool = setting(
        True,
        "Evaluate the sampled share of live traffic in this gateway process (the API's "
        "on-demand runs work either way).",
    )
    queue_size: int = setting(
        1000,
        "Sampled requests held for live evaluation; beyond it new ones are dropped and "
        "counted (relayscope_evaluations_dropped), never slowing a request.",
    )
    workers: int = setting(2, "Live evaluations run at once in this process.")
    cache_ttl: float = setting(
        10.0,
        "Seconds the list of sampled evaluators is cached; changes through this process's "
        "API apply at once, others (CLI, other replicas) within this.",
    )
    judge_timeout: float = setting(60.0, "Seconds one LLM-as-judge call may take.")
    run_concurrency: int = setting(4, "Evaluations at once in one on-demand run.")

    def __post_init__(self) -> None:
        for name in ("queue_size", "workers", "run_concurrency"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"RELAYSCOPE_EVALUATORS_{name.upper()}",
                    getattr(self, name),
                    "must be at least 1",
                )
        for name in ("cache_ttl", "judge_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(
                    f"RELAYSCOPE_EVALUATORS_{name.upper()}",
                    getattr(self, name),
                    "must be a positive number",
                )
