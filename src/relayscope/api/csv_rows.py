"""CSV lines for the exports: one spelling of a value in a cell for all of them.

Objects and lists are JSON text, a missing value is an empty cell, booleans are
``true`` / ``false`` (as in the JSON exports) and times are ISO 8601.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

import orjson


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return str(value)


def line(values: Iterable[object]) -> bytes:
    """One CSV line (CRLF-terminated, as RFC 4180 writes it) of ``values``' cells."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cell(v) for v in values)
    return out.getvalue().encode()
