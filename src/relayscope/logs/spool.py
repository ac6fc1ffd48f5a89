"""An on-disk spool for records the store could not take: JSON Lines, one file per batch.

Files are claimed by renaming before replay, so several processes sharing one spool
directory never replay the same file twice. A file is written under a ``.partial``
name and renamed once complete; a write that fails (a full disk) leaves nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from relayscope.record import LogRecord

_FIELDS = {f.name for f in fields(LogRecord)}


def dump_row(record: LogRecord) -> bytes:
    """One record as a JSON line's content; a value JSON cannot hold is kept as its repr."""
    row = record.to_row()
    try:
        return orjson.dumps(row)
    except TypeError:
        return orjson.dumps({name: _plain(value) for name, value in row.items()})


def _plain(value: Any) -> Any:
    try:
        orjson.dumps(value)
    except TypeError:
        return repr(value)
    return value


def write_lines(directory: Path, lines: Iterable[bytes]) -> Path:
    """A new JSON Lines file in ``directory``, whole or not at all (fsynced, then renamed)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{datetime.now().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.jsonl"
    final = directory / name
    partial = final.with_suffix(".partial")
    try:
        with partial.open("wb") as fh:
            for line in lines:
                fh.write(line + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        partial.rename(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return final


@dataclass(slots=True)
class SpoolFile:
    records: list[LogRecord]
    unreadable: list[tuple[bytes, str]]
    """Lines that are not a record, each with what is wrong with it."""


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, records: list[LogRecord]) -> Path:
        return write_lines(self.directory, (dump_row(record) for record in records))

    def pending(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("*.jsonl"))

    def claim(self, path: Path) -> Path | None:
        claimed = path.with_suffix(f".claimed-{os.getpid()}")
        try:
            path.rename(claimed)
        except FileNotFoundError:
            return None
        return claimed

    def release(self, claimed: Path) -> None:
        """Put a claimed file back, for a later replay."""
        claimed.rename(claimed.with_suffix(".jsonl"))

    @staticmethod
    def read(path: Path) -> list[LogRecord]:
        """The records of a spool file; ValueError if a line is not one."""
        spooled = Spool.read_lines(path)
        if spooled.unreadable:
            raise ValueError(f"{path}: {spooled.unreadable[0][1]}")
        return spooled.records

    @staticmethod
    def read_lines(path: Path) -> SpoolFile:
        """The records of a spool file, and apart from them the lines that are not one."""
        spooled = SpoolFile([], [])
        for line in path.read_bytes().splitlines():
            if not line.strip():
                continue
            try:
                spooled.records.append(_parse(line))
            except (ValueError, TypeError, KeyError) as exc:
                spooled.unreadable.append((line, f"{type(exc).__name__}: {exc}"))
        return spooled

    def size(self) -> int:
        total = 0
        for path in self.pending():
            try:
                total += path.stat().st_size
            except FileNotFoundError:  # claimed by another process meanwhile
                continue
        return total

    def recover_orphans(self) -> None:
        """Claims left by a process that died mid-replay go back to the queue."""
        if not self.directory.exists():
            return
        for claimed in self.directory.glob("*.claimed-*"):
            pid = claimed.suffix.removeprefix(".claimed-")
            if pid.isdigit() and not _alive(int(pid)):
                self.release(claimed)


def _parse(line: bytes) -> LogRecord:
    row = orjson.loads(line)
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    return LogRecord(**{k: v for k, v in row.items() if k in _FIELDS})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
