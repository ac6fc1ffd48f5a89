"""Teams and budgets as the store holds them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relayscope.budgets.periods import Window, window

LEVELS = ("org", "team", "user", "key")
"""From the widest to the narrowest: a request falls under one budget owner per level."""


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    org_id: str
    name: str
    created_at: datetime
    key_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "key_ids": list(self.key_ids),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Budget:
    id: str
    org_id: str
    level: str
    """``org``, ``team``, ``user`` or ``key``."""
    target: str | None
    """The team id, user id or key id; None for the org."""
    usd_limit: float | None
    token_limit: int | None
    period: str
    reset: str
    created_at: datetime
    updated_at: datetime

    def window(self, now: datetime) -> Window:
        return window(self.period, self.reset, self.created_at, now)

    def describe(self) -> str:
        """The owner as a person reads it: ``team 5f0c...``, ``user alice``, ``the org``."""
        return "the org" if self.target is None else f"{self.level} {self.target}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "level": self.level,
            "target": self.target,
            "usd_limit": self.usd_limit,
            "token_limit": self.token_limit,
            "period": self.period,
            "reset": self.reset,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def dollars(value: float) -> str:
    """``$1,234.50``; amounts under a dollar keep six decimals (``$0.000042``)."""
    return f"${value:,.2f}" if value >= 1 else f"${value:.6f}"


@dataclass(frozen=True, slots=True)
class Spend:
    """What was spent in one budget period."""

    usd: float = 0.0
    tokens: int = 0
