"""What rate limiting decided for one request (``Context.ratelimit``)."""

from __future__ import annotations

from dataclasses import dataclass

from relayscope.ratelimit.policy import format_number


@dataclass(frozen=True, slots=True)
class RateLimitOutcome:
    """The decision of the binding policy: the one that refused the request, or else
    the one closest to refusing it. The ``Helicone-RateLimit-*`` headers tell it."""

    limited: bool
    """The policy refused the request (429)."""
    policy: str
    """The policy in its header form (``100;w=60;s=user``)."""
    limit: float
    """The policy's quota per window."""
    remaining: float
    """What is left of the quota after the decision (never below 0)."""
    reset_s: int
    """Seconds until the window has room again (at least 1 when refused)."""

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"helicone-ratelimit-limit", format_number(self.limit).encode()),
            (b"helicone-ratelimit-remaining", format_number(self.remaining).encode()),
            (b"helicone-ratelimit-policy", self.policy.encode()),
            (b"helicone-ratelimit-reset", str(self.reset_s).encode()),
        ]
