"""The lines of a data export, JSON Lines or CSV: each record with its scores.

JSON Lines: one object per record, as ``GET /api/requests/{id}`` answers it (the
record with its bodies, ``scores`` and ``feedback``). CSV: a header line, then one
line per record, its fields in ``COLUMNS`` order; objects and lists (properties,
attempts, scores) are JSON text in their cell, a missing value is an empty cell, and
``feedback`` is ``true``, ``false`` or empty.
"""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from datetime import datetime
from typing import Any

import orjson

from relayscope.api.requests import record_json
from relayscope.record import LogRecord
from relayscope.store.scores import scores_json

FORMATS = ("jsonl", "csv")
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
COLUMNS = (
    *(f.name for f in fields(LogRecord) if f.name != "record_uid"),
    "scores",
    "feedback",
)


def json_line(record: LogRecord, held: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({**record_json(record, bodies=True), **scores_json(held)}) + b"\n"


def csv_header() -> bytes:
    return _csv(COLUMNS)


def csv_line(record: LogRecord, held: list[dict[str, Any]]) -> bytes:
    row = record.to_row()
    given = scores_json(held)
    row["scores"] = given["scores"]
    feedback = given["feedback"]
    row["feedback"] = None if feedback is None else feedback["rating"]
    return _csv([_cell(row[name]) for name in COLUMNS])


def line(fmt: str, record: LogRecord, held: list[dict[str, Any]]) -> bytes:
    return csv_line(record, held) if fmt == "csv" else json_line(record, held)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _csv(cells: Any) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(cells)
    return out.getvalue().encode()
