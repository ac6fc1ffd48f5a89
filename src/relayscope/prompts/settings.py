"""Prompt settings, read from ``RELAYSCOPE_PROMPTS_*``."""

from __future__ import annotations

from dataclasses import dataclass

from relayscope.config import setting as _setting


@dataclass(frozen=True, kw_only=True)
class PromptSettings:
    enabled: bool = _setting(
        True, "Fill Helicone-Prompt-Id templates on proxied requests (the API works either way)."
    )
    cache_ttl: float = _setting(
        5.0,
        "Seconds a prompt's latest version and labels are cached per process; changes made "
        "through this process's API apply at once, others (CLI, other replicas) within this.",
    )
    cache_max_entries: int = _setting(10_000, "Prompts and versions held in memory at most.")
