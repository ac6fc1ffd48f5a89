"""``range``: a time range relative to now (``range=24h``), the filter bar's presets.

A link with ``range=24h`` means the 24 hours before each visit, where ``from`` names
a fixed moment; the two cannot be combined.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.datastructures import QueryParams

from relayscope.api import params

RANGES = {
    "1h": (timedelta(hours=1), "last hour"),
    "24h": (timedelta(hours=24), "last 24 hours"),
    "7d": (timedelta(days=7), "last 7 days"),
    "30d": (timedelta(days=30), "last 30 days"),
    "90d": (timedelta(days=90), "last 90 days"),
}


def span_of(query: QueryParams) -> timedelta | None:
    """The span ``range`` names, or None without one."""
    label = query.get("range")
    if label is None:
        return None
    if label not in RANGES:
        raise params.bad("range", f"must be one of {', '.join(RANGES)}")
    return RANGES[label][0]


def since(query: QueryParams) -> datetime | None:
    """The start of the requests ``from`` or ``range`` selects."""
    span = span_of(query)
    if span is None:
        return params.timestamp(query, "from")
    if query.get("from") is not None or query.get("to") is not None:
        raise params.bad("range", "cannot be used with from or to")
    return datetime.now(UTC) - span
