"""Counters of what the cache did in this process, per org, for the API and metrics.

Each org sees only its own counters: how often another org hits the cache is that
org's business.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class Counters:
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


class CacheStats:
    def __init__(self) -> None:
        self._orgs: dict[str, Counters] = {}

    def org(self, org_id: str) -> Counters:
        """The counters of ``org_id`` (made on first use)."""
        counters = self._orgs.get(org_id)
        if counters is None:
            counters = self._orgs[org_id] = Counters()
        return counters

    def as_dict(self, org_id: str) -> dict[str, int]:
        counters = self._orgs.get(org_id)
        return (counters or Counters()).as_dict()
