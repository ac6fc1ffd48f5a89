"""Dead letters: records the store refused, and spool lines that are not records.

One bad record (a value no column can hold) used to fail its whole batch, and the
writer with it. Such records are found (see ``isolate``) and kept here, in the data
directory, as JSON Lines (one file per quarantine, written like the spool, so
with the same redaction already applied): never dropped, never retried blindly,
listed by ``GET /api/dead-letters`` (for the caller's org) and ``relayscope logs
dead-letters``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from relayscope.logs.spool import dump_row, write_lines
from relayscope.record import LogRecord

_ORG_ID_MAX = 64


def dead_letter_dir(data_dir: Path) -> Path:
    return data_dir / "dead-letters"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    reason: str
    source: str
    """"store" (the store refused the record) or "spool" (a spool line was unreadable)."""
    record: LogRecord | None = None
    line: bytes | None = None

    def to_line(self, at: datetime) -> bytes:
        entry = {
            "quarantined_at": at.isoformat(),
            "source": self.source,
            "reason": self.reason,
            "org_id": self.org_id,
        }
        if self.record is not None:
            head = orjson.dumps(entry)[:-1]
            return head + b',"record":' + dump_row(self.record) + b"}"
        assert self.line is not None
        return orjson.dumps({**entry, "line": self.line.decode("utf-8", "replace")})

    @property
    def org_id(self) -> str | None:
        if self.record is not None:
            return self.record.org_id if isinstance(self.record.org_id, str) else None
        return _org_of_line(self.line or b"")


def _org_of_line(line: bytes) -> str | None:
    """The org a spool line names, if it is JSON with a plausible ``org_id``."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    org_id = row.get("org_id") if isinstance(row, dict) else None
    return org_id if isinstance(org_id, str) and 0 < len(org_id) <= _ORG_ID_MAX else None


class DeadLetters:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def add(self, letters: list[DeadLetter]) -> Path:
        at = datetime.now(UTC)
        return write_lines(self.directory, (letter.to_line(at) for letter in letters))

    def files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("*.jsonl"))

    def count(self) -> int:
        return sum(_lines(path) for path in self.files())

    def entries(self, org_id: str | None = None, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (of ``org_id`` only, when given), newest first."""
        found: list[dict[str, Any]] = []
        for path in reversed(self.files()):
            for raw in reversed(path.read_bytes().splitlines()):
                entry = _entry(raw)
                if entry is None or (org_id is not None and entry.get("org_id") != org_id):
                    continue
                found.append(entry)
                if len(found) >= limit:
                    return found
        return found


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _entry(raw: bytes) -> dict[str, Any] | None:
    try:
        entry = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None
