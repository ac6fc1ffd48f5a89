"""Settings of the retry and fallback stage, read from ``RELAYSCOPE_RETRY_*``."""

from __future__ import annotations

from dataclasses import dataclass

from relayscope.config import setting


@dataclass(frozen=True, kw_only=True)
class RetrySettings:
    enabled: bool = setting(
        True, "Honour Helicone-Retry-* and Helicone-Fallback(s) headers (false: stage left out)."
    )
    anthropic_max_tokens: int = setting(
        4096, "max_tokens sent to Anthropic when a translated OpenAI request sets none."
    )
    provider_key_ttl: float = setting(
        30.0, "Seconds an org's operator-configured provider keys are cached in memory."
    )
