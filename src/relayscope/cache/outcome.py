"""What the response cache did for one request (``Context.cache``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CacheOutcome:
    """The cache was looked up: a hit (answered without the provider) or a miss."""

    hit: bool
    source_id: str | None = None
    """On a hit, the id of the request whose response was replayed."""
    similarity: float | None = None
    """On a semantic hit, how similar the matched request was (0..1, 4 decimals)."""
