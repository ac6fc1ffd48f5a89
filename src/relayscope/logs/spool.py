"""An on-disk spool for records the store could not take: JSON Lines, one file per batch.

Files are claimed by renaming before replay, so several processes sharing one spool
directory never replay the same file twice.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import fields
from datetime import datetime
from pathlib import Path

import orjson

from relayscope.logs.record import LogRecord

_FIELDS = {f.name for f in fields(LogRecord)}


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, records: list[LogRecord]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.jsonl"
        final = self.directory / name
        partial = final.with_suffix(".partial")
        with partial.open("wb") as fh:
            for record in records:
                fh.write(orjson.dumps(record.to_row()) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        partial.rename(final)
        return final

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
        records = []
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                row["created_at"] = datetime.fromisoformat(row["created_at"])
                records.append(LogRecord(**{k: v for k, v in row.items() if k in _FIELDS}))
        return records

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.pending())

    def recover_orphans(self) -> None:
        """Claims left by a process that died mid-replay go back to the queue."""
        if not self.directory.exists():
            return
        for claimed in self.directory.glob("*.claimed-*"):
            pid = claimed.suffix.removeprefix(".claimed-")
            if pid.isdigit() and not _alive(int(pid)):
                self.release(claimed)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
