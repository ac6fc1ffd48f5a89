"""Datasets as JSON Lines: one row per line, ``{"messages", "output", "expected",
"request_id", "model"}``. What ``export`` writes, ``parse`` reads back."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from relayscope.datasets.repository import MAX_ROWS, Row
from relayscope.datasets.rows import RowFields, row_fields
from relayscope.errors import BadRequest

MEDIA_TYPE = "application/jsonl"


def export(rows: Iterable[Row]) -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "messages": row.messages,
                "output": row.output,
                "expected": row.expected,
                "request_id": row.request_id,
                "model": row.model,
            }
        )
        + b"\n"
        for row in rows
    )


def parse(data: bytes) -> list[RowFields]:
    """The rows of a JSONL document; a 400 names the first line that is not a row.
    Blank lines are skipped."""
    rows: list[RowFields] = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        where = f"line {number}: "
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"{where}not valid JSON ({exc})", param=f"line {number}") from None
        try:
            rows.append(row_fields(value, where))
        except BadRequest as exc:
            raise BadRequest(exc.message, param=f"line {number}") from None
        if len(rows) > MAX_ROWS:
            raise BadRequest(f"A dataset holds at most {MAX_ROWS} rows", code="too_many_rows")
    return rows
