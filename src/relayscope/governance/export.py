"""The lines of a data export, JSON Lines or CSV: each record with its scores.

JSON Lines: one object per record, as ``GET /api/requests/{id}`` answers it (the
record with its bodies, ``scores`` and ``feedback``). CSV: a header line, then one
line per record, its fields in ``COLUMNS`` order; objects and lists (properties,
attempts, scores) are JSON text in their cell, a missing value is an empty cell, and
``feedback`` is ``true``, ``false`` or empty.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import orjson

from relayscope.api import csv_rows
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
    return csv_rows.line(COLUMNS)


def csv_line(record: LogRecord, held: list[dict[str, Any]]) -> bytes:
    row = record.to_row()
    given = scores_json(held)
    row["scores"] = given["scores"]
    feedback = given["feedback"]
    row["feedback"] = None if feedback is None else feedback["rating"]
    return csv_rows.line(row[name] for name in COLUMNS)


def line(fmt: str, record: LogRecord, held: list[dict[str, Any]]) -> bytes:
    return csv_line(record, held) if fmt == "csv" else json_line(record, held)
