"""How the dashboard writes numbers: one Jinja filter per kind of quantity, used by
every template, so a cost, a latency or a count reads the same on every page.

Each filter takes None (a value the record does not have) and writes an en dash.
"""

from __future__ import annotations

from datetime import datetime

MISSING = "\u2013"  # an en dash stands for "no value"


def usd(value: float | None) -> str:
    """A cost: cents and above to 4 decimals (2 from $100), a fraction of a cent to 6."""
    if value is None:
        return MISSING
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return f"${value:.6f}"
    return f"${value:,.4f}" if abs(value) < 100 else f"${value:,.2f}"


def ms(value: float | None) -> str:
    """A duration in milliseconds: "8.5 ms", "240 ms", "1.25 s"."""
    if value is None:
        return MISSING
    if value >= 1000:
        return f"{value / 1000:,.2f} s"
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def number(value: float | None) -> str:
    """A quantity (tokens, requests): thousands separators, 2 decimals if fractional."""
    if value is None:
        return MISSING
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


tokens = number
"""Token counts are whole numbers, written like any count."""


def count(value: int | None, noun: str, plural: str | None = None) -> str:
    """A count with its noun: "1 request", "1,234 requests"."""
    if value is None:
        return MISSING
    word = noun if value == 1 else (plural or noun + "s")
    return f"{value:,} {word}"


def percent(value: float | None) -> str:
    """A share (0..1) as a percentage to one decimal: 0.1234 is "12.3%"."""
    return MISSING if value is None else f"{value * 100:.1f}%"


def score(value: float | None) -> str:
    """A score or similarity: at most 3 decimals, no trailing zeros ("0.8", "0.917")."""
    if value is None:
        return MISSING
    # Always written with a decimal point, so stripping zeros never eats an integer's.
    return f"{value:.3f}".rstrip("0").rstrip(".")


def when(value: str | datetime | None) -> str:
    """A moment, in UTC to the second."""
    if value is None:
        return MISSING
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M:%S") + " UTC"


FILTERS = {
    "usd": usd,
    "ms": ms,
    "number": number,
    "tokens": tokens,
    "count": count,
    "percent": percent,
    "score": score,
    "when": when,
}
