"""A budget as a caller describes it, checked field by field (API and CLI)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from relayscope.budgets.model import LEVELS
from relayscope.budgets.periods import PERIODS, RESETS
from relayscope.budgets.repository import BudgetSpec

FIELDS = ("level", "target", "usd_limit", "token_limit", "period", "reset")
MAX_TARGET = 256


class SpecError(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"Invalid field '{field}': {problem}")
        self.field = field


def parse_spec(body: Mapping[str, object]) -> BudgetSpec:
    for name in body:
        if name not in FIELDS:
            raise SpecError(name, f"unknown field (expected {', '.join(FIELDS)})")
    level = _choice(body, "level", LEVELS, None)
    target = body.get("target")
    if level == "org":
        if target is not None:
            raise SpecError("target", "an org budget has no target (leave it out)")
    elif not isinstance(target, str) or not target.strip() or len(target) > MAX_TARGET:
        what = {"team": "a team id", "user": "a Helicone-User-Id", "key": "a gateway key id"}
        raise SpecError("target", f"required for a {level} budget: {what[level]}")
    usd = body.get("usd_limit")
    if usd is not None and (
        isinstance(usd, bool)
        or not isinstance(usd, int | float)
        or not math.isfinite(usd)
        or usd <= 0
    ):
        raise SpecError("usd_limit", "must be a positive number of US dollars")
    tokens = body.get("token_limit")
    if tokens is not None and (
        isinstance(tokens, bool) or not isinstance(tokens, int) or tokens <= 0
    ):
        raise SpecError("token_limit", "must be a positive whole number of tokens")
    if usd is None and tokens is None:
        raise SpecError("usd_limit", "a budget needs usd_limit, token_limit or both")
    return BudgetSpec(
        level=level,
        target=target.strip() if isinstance(target, str) else None,
        usd_limit=float(usd) if usd is not None else None,
        token_limit=tokens,
        period=_choice(body, "period", PERIODS, "month"),
        reset=_choice(body, "reset", RESETS, "calendar"),
    )


def _choice(
    body: Mapping[str, object], name: str, allowed: tuple[str, ...], default: str | None
) -> str:
    value = body.get(name, default)
    if value not in allowed:
        raise SpecError(name, f"must be one of {', '.join(allowed)}")
    return str(value)
