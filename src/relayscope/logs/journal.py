"""The crash journal: every finished request on disk before its client has the answer.

The logging stage appends one JSON line per finished request (the inputs its log
record is built from) before the response's last byte is sent, by copying it into
the current segment, a file mapped into memory (``MAP_SHARED``). A process that
dies (SIGKILL, OOM, a crash) then loses none of the records its clients were
answered for: the bytes are in the kernel's page cache. A background thread fsyncs
every ``fsync_interval`` seconds, so a power loss loses at most that much.

Why a mapping and not ``os.write``: a write is a system call that releases the GIL,
and on the event loop, with a log-writing thread busy, taking it back waits up to
the switch interval; a copy into the mapping keeps it (bench/README.md measures the
difference). Segments are allocated in full when they start (``posix_fallocate``),
so a full disk refuses a new segment instead of failing a write into the mapping;
what follows the last line is zeros until the segment is closed and cut to size.

Once a record is in the store or the spool (which fsyncs), the writer calls
``done``: the journal notes it in a marker line, and deletes a rotated segment once
all its records are done. Rotation is by size and age, so disk use stays bounded.

Each process writes its own segments, ``<owner>.<n>.jsonl``, and holds the lock
``<owner>.lock`` (``fcntl.flock``) for its whole life, so workers and replicas can
share a data directory. On start, ``adopt`` takes over the journals whose owner's
lock is free (their owner died) and returns what they hold that is not marked done;
journals of live siblings stay untouched. Replaying a record the store already
holds is harmless: the store skips ids it has (see ``LogStore.insert_requests``).

Entries are JSON objects with string fields ``org_id`` and ``record_uid``; marker
lines are ``{"done": [[org_id, record_uid], ...]}``. A line cut short by a crash is
skipped on reading.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("relayscope.logs")

Key = tuple[str, str]
"""(org id, request id): what identifies a journaled record."""

_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


@dataclass(eq=False, slots=True)
class _Segment:
    """Journal files whose records are released together: one of ours, or a dead
    owner's whole journal (with the owner's lock, held until it is deleted)."""

    paths: list[Path]
    pending: int = 0
    capacity: int = 0
    """Bytes allocated for the file (ours only): the mapping's length."""
    sealed: bool = False
    """No more appends: deleted as soon as nothing is pending."""
    size: int = 0
    """Bytes written (ours only)."""
    opened_at: float = 0.0
    lock_fd: int | None = None
    lock_path: Path | None = None


@dataclass(slots=True)
class JournalStats:
    appended: int = 0
    adopted: int = 0
    deleted_segments: int = 0
    torn_lines: int = 0
    write_errors: int = 0
    fsyncs: int = 0
    owners: list[str] = field(default_factory=list)


class Journal:
    def __init__(
        self,
        directory: Path,
        *,
        fsync_interval: float = 0.1,
        segment_bytes: int = 16 * 1024 * 1024,
        segment_seconds: float = 60.0,
        # Segments are allocated in full: their size never changes, so fdatasync
        # makes them durable without also writing out their times.
        fsync: Callable[[int], None] = os.fdatasync,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.fsync_interval = fsync_interval
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.stats = JournalStats()
        self._fsync = fsync
        self._clock = clock
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._pending: dict[Key, list[_Segment]] = {}
        self._segment: _Segment | None = None
        self._segment_number = 0
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._lock_fd = -1
        self._retired: list[tuple[int, mmap.mmap]] = []
        """Rotated segments: the sync thread fsyncs and closes them."""
        self._dirty = False
        self._directory_dirty = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lock_path(self) -> Path:
        return self.directory / f"{self.owner}.lock"

    @property
    def pending(self) -> int:
        """Records journaled (or adopted) and not yet done."""
        with self._lock:
            return sum(len(segments) for segments in self._pending.values())

    @property
    def enabled(self) -> bool:
        """Open and writing (a journal that could not be opened journals nothing)."""
        return self._segment is not None

    def open(self) -> None:
        """Take this process's lock, open the first segment and start fsyncing.

        Never raises: without a writable directory the gateway runs without a journal
        (records then wait for the store in memory only, as before there was one).
        """
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Locked before it has its name: a sibling scanning for dead owners never
            # sees our lock file unlocked.
            partial = self.directory / f"{self.owner}.lock-partial"
            self._lock_fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            partial.rename(self.lock_path)
            with self._lock:
                self._rotate()
        except OSError as exc:
            log.error("no log journal: cannot write %s (%s)", self.directory, exc)
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1
            return
        self._thread = threading.Thread(
            target=self._sync_loop, name="relayscope-journal-fsync", daemon=True
        )
        self._thread.start()

    def append(self, key: Key, line: bytes) -> None:
        """Write one entry (``line`` ends with a newline) to the kernel, now.

        Never raises: a journal that cannot be written (disk full) leaves the record
        to the in-memory queue, as without a journal.
        """
        with self._lock:
            if self._segment is None or not self._put(line):
                return
            segment = self._segment
            segment.pending += 1
            self._pending.setdefault(key, []).append(segment)
            self.stats.appended += 1

    def _put(self, data: bytes) -> bool:
        """Copy ``data`` into the current segment, first starting a new one when it
        is full or old (caller holds ``_lock``). False: nowhere to write it."""
        segment = self._segment
        assert segment is not None
        if (
            self._map is None
            or segment.size + len(data) > segment.capacity
            or self._clock() - segment.opened_at >= self.segment_seconds
        ):
            try:
                self._rotate(len(data))
            except OSError as exc:
                self._write_failed(exc)
                return False
            segment = self._segment
        assert segment is not None and self._map is not None
        end = segment.size + len(data)
        self._map[segment.size : end] = data
        segment.size = end
        self._dirty = True
        return True

    def done(self, keys: Iterable[Key]) -> None:
        """These records are in the store (or the spool): the journal may drop them."""
        with self._lock:
            released = []
            for key in keys:
                segments = self._pending.get(key)
                if not segments:
                    continue
                segment = segments.pop(0)
                if not segments:
                    del self._pending[key]
                released.append(key)
                segment.pending -= 1
                if segment.pending == 0 and segment.sealed:
                    self._delete(segment)
            if released and self._segment is not None:
                # Tells a replay after a crash what not to send again.
                self._put(orjson.dumps({"done": released}) + b"\n")

    def adopt(self) -> list[dict[str, Any]]:
        """Take over the journals of dead owners: the entries they hold not yet done.

        The adopted files are deleted once every returned entry is ``done``.
        """
        if not self.enabled:
            return []
        owners = {_owner_of(path) for path in self.directory.glob("*.jsonl")}
        owners |= {path.stem for path in self.directory.glob("*.lock")}
        owners.discard(self.owner)
        groups: list[tuple[_Segment, list[tuple[Key, dict[str, Any]]]]] = []
        done: Counter[Key] = Counter()
        for owner in sorted(owners):
            group = self._lock_owner(owner)
            if group is None:
                continue
            entries = []
            for path in group.paths:
                for entry in self._read(path):
                    marked = entry.get("done")
                    if isinstance(marked, list):
                        done.update(tuple(key) for key in marked if _is_key(key))
                    elif isinstance(entry.get("org_id"), str) and isinstance(
                        entry.get("record_uid"), str
                    ):
                        entries.append(((entry["org_id"], entry["record_uid"]), entry))
            groups.append((group, entries))
            self.stats.owners.append(owner)
        replay = []
        with self._lock:
            for group, entries in groups:
                for key, entry in entries:
                    if done[key] > 0:
                        done[key] -= 1
                        continue
                    group.pending += 1
                    self._pending.setdefault(key, []).append(group)
                    replay.append(entry)
                group.sealed = True
                if group.pending == 0:
                    self._delete(group)
        self.stats.adopted += len(replay)
        if replay:
            log.warning(
                "replaying %d log records from the journals of %d stopped processes",
                len(replay),
                len(groups),
            )
        return replay

    def sync(self) -> None:
        """fsync what was written since the last call (the background thread's job)."""
        with self._sync_lock:
            with self._lock:
                retired, self._retired = self._retired, []
                fd, dirty, self._dirty = self._fd, self._dirty, False
                directory_dirty, self._directory_dirty = self._directory_dirty, False
            for old, mapping in retired:
                with contextlib.suppress(OSError):
                    self._fsync(old)  # on Linux this covers writes through the mapping
                    self.stats.fsyncs += 1
                mapping.close()
                os.close(old)
            if dirty and fd >= 0:
                try:
                    self._fsync(fd)
                    self.stats.fsyncs += 1
                except OSError as exc:
                    log.error("could not fsync the log journal: %s", exc)
            if directory_dirty:
                self._fsync_directory()

    def close(self) -> None:
        """Stop; delete our journal if everything in it is done, else keep it for the
        next process. Releases every lock held."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self.sync()
        with self._lock:
            owned = self._segment
            self._segment = None
            if self._map is not None:
                self._map.close()
                self._map = None
            if self._fd >= 0:
                if owned is not None:
                    with contextlib.suppress(OSError):
                        os.ftruncate(self._fd, owned.size)  # no zeros left for the next reader
                os.close(self._fd)
                self._fd = -1
            waiting = {s for segments in self._pending.values() for s in segments}
            adopted = {s for s in waiting if s.lock_fd is not None}
            # Kept while adopted records wait: our done markers tell their next replay
            # what not to send again.
            if owned is not None and not waiting:
                for path in sorted(self.directory.glob(f"{self.owner}.*.jsonl")):
                    path.unlink(missing_ok=True)
                self.lock_path.unlink(missing_ok=True)
            for group in adopted:
                if group.lock_fd is not None:
                    os.close(group.lock_fd)
                    group.lock_fd = None
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1

    def _rotate(self, room: int = 0) -> None:
        """Start a new segment with space for at least ``room`` bytes (caller holds
        ``_lock``). OSError, with nothing changed, when it cannot be allocated."""
        self._segment_number += 1
        path = self.directory / f"{self.owner}.{self._segment_number:06d}.jsonl"
        capacity = max(self.segment_bytes, room)
        fd = os.open(path, _OPEN_FLAGS, 0o600)
        try:
            os.posix_fallocate(fd, 0, capacity)
            mapping = mmap.mmap(fd, capacity)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        if self._map is not None:
            self._retired.append((self._fd, self._map))
        self._fd, self._map = fd, mapping
        self._directory_dirty = True
        previous = self._segment
        self._segment = _Segment([path], capacity=capacity, opened_at=self._clock())
        if previous is not None:
            previous.sealed = True
            if previous.pending == 0:
                self._delete(previous)

    def _delete(self, segment: _Segment) -> None:
        for path in segment.paths:
            path.unlink(missing_ok=True)
        self.stats.deleted_segments += len(segment.paths)
        if segment.lock_fd is not None:
            # After the files: a lock without files is harmless, files without a lock
            # would be adopted again by another process.
            if segment.lock_path is not None:
                segment.lock_path.unlink(missing_ok=True)
            os.close(segment.lock_fd)
            segment.lock_fd = None

    def _lock_owner(self, owner: str) -> _Segment | None:
        """The owner's journal, locked, if its owner is dead (its lock is free)."""
        lock_path = self.directory / f"{owner}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # Another process may have finished this journal and removed the lock
            # file while we opened it: then ours is a stale inode.
            if os.fstat(fd).st_ino != lock_path.stat().st_ino:
                raise BlockingIOError
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return None
        paths = sorted(self.directory.glob(f"{owner}.*.jsonl"), key=_segment_number)
        return _Segment(paths, lock_fd=fd, lock_path=lock_path)

    def _read(self, path: Path) -> Iterable[dict[str, Any]]:
        try:
            data = path.read_bytes().rstrip(b"\0")  # a segment's unwritten rest
        except FileNotFoundError:
            return
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.stats.torn_lines += 1  # cut short by a crash mid-write
                continue
            if isinstance(entry, dict):
                yield entry

    def _sync_loop(self) -> None:
        while not self._stopping.wait(max(self.fsync_interval, 0.001)):
            self.sync()

    def _fsync_directory(self) -> None:
        """Makes new segment files' names durable, not only their contents."""
        try:
            fd = os.open(self.directory, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        try:
            self._fsync(fd)
        except OSError as exc:
            log.error("could not fsync the log journal's directory: %s", exc)
        finally:
            os.close(fd)

    def _write_failed(self, exc: OSError) -> None:
        if not self.stats.write_errors:
            log.error("cannot write the log journal in %s: %s", self.directory, exc)
        self.stats.write_errors += 1


def _owner_of(path: Path) -> str:
    return path.name.split(".", 1)[0]


def _segment_number(path: Path) -> int:
    number = path.name.split(".")[1]
    return int(number) if number.isdigit() else 0


def _is_key(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], str)
    )
