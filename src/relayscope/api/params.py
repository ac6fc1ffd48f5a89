"""Query-parameter parsing with errors that name the parameter."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.datastructures import QueryParams

from relayscope.errors import BadRequest


def bad(param: str, problem: str) -> BadRequest:
    return BadRequest(f"Invalid query parameter '{param}': {problem}", param=param)


def integer(
    params: QueryParams, name: str, *, default: int | None, low: int, high: int
) -> int | None:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, "must be an integer") from None
    if not low <= value <= high:
        raise bad(name, f"must be between {low} and {high}")
    return value


def timestamp(params: QueryParams, name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad(name, "must be an ISO 8601 timestamp") from None
    # Stored times are UTC; SQLite compares them as text, so bounds must be UTC too.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def reject_unknown(params: QueryParams, known: set[str], prefixes: tuple[str, ...] = ()) -> None:
    for name in params:
        if name not in known and not name.startswith(prefixes):
            raise bad(name, "unknown parameter")
