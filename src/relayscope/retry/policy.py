"""When to retry and how long to wait: the ``Helicone-Retry-*`` headers, backoff, Retry-After."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from relayscope.errors import InvalidHeader

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
JITTER = 0.2
"""Each delay is spread by ±20 %, then kept within [min timeout, max timeout]."""

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 5
    """Retries after the first attempt (``Helicone-Retry-Num``)."""
    factor: float = 2.0
    min_timeout_ms: float = 1000.0
    max_timeout_ms: float = 10000.0

    def backoff_s(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        base = min(self.max_timeout_ms, self.min_timeout_ms * self.factor**retry)
        spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
        low, high = self.min_timeout_ms, self.max_timeout_ms
        return max(low, min(high, base * spread)) / 1000

    def delay_s(
        self, retry: int, retry_after_s: float | None, rng: random.Random | None = None
    ) -> float:
        """The provider's Retry-After when it sent one (capped by the max timeout), else backoff."""
        if retry_after_s is not None:
            return min(retry_after_s, self.max_timeout_ms / 1000)
        return self.backoff_s(retry, rng)


NO_RETRIES = RetryPolicy(retries=0)


def parse_retry_headers(helicone: Mapping[str, str]) -> RetryPolicy | None:
    """The policy the client asked for, or None when ``Helicone-Retry-Enabled`` is not true.

    The other retry headers are only read (and validated) when retries are enabled.
    """
    enabled = helicone.get("helicone-retry-enabled")
    if enabled is None or enabled.strip().lower() in _FALSE:
        return None
    if enabled.strip().lower() not in _TRUE:
        raise InvalidHeader("Helicone-Retry-Enabled", "must be true or false")
    retries = _number(helicone, "Helicone-Retry-Num", 5, low=0, high=10, integer=True)
    factor = _number(helicone, "Helicone-Retry-Factor", 2.0, low=1, high=10)
    min_ms = _number(helicone, "Helicone-Retry-Min-Timeout", 1000, low=0, high=600_000)
    max_ms = _number(helicone, "Helicone-Retry-Max-Timeout", 10000, low=0, high=600_000)
    if max_ms < min_ms:
        raise InvalidHeader(
            "Helicone-Retry-Max-Timeout",
            f"must not be less than Helicone-Retry-Min-Timeout ({min_ms:g} ms)",
        )
    return RetryPolicy(int(retries), factor, min_ms, max_ms)


def _number(
    helicone: Mapping[str, str],
    header: str,
    default: float,
    *,
    low: float,
    high: float,
    integer: bool = False,
) -> float:
    raw = helicone.get(header.lower())
    if raw is None:
        return default
    try:
        value = int(raw.strip()) if integer else float(raw.strip())
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise InvalidHeader(header, f"must be {kind} from {low:g} to {high:g}") from None
    # A range check alone refuses NaN and infinities; math.isfinite() would raise
    # OverflowError on an int of hundreds of digits.
    if not low <= value <= high:
        shown = raw.strip() if len(raw.strip()) <= 20 else raw.strip()[:20] + "..."
        raise InvalidHeader(header, f"must be from {low:g} to {high:g}, got {shown}")
    return value


def retry_after_s(headers: Sequence[tuple[bytes, bytes]], now: float | None = None) -> float | None:
    """Seconds the provider asked to wait: ``retry-after-ms``, or ``retry-after`` (seconds or
    an HTTP date). None when absent or unreadable."""
    values = {name.lower(): value for name, value in headers}
    raw_ms = values.get(b"retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms)
        except ValueError:
            ms = math.nan
        if math.isfinite(ms) and ms >= 0:
            return ms / 1000
    raw = values.get(b"retry-after")
    if raw is None:
        return None
    text = raw.decode("latin-1").strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
