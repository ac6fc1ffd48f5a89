"""The crash journal: what a dead process journaled is adopted once, by one process,
without what it had already stored; torn lines, rotation, and the fsync interval."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson

from relayscope.logs import journal as journal_module
from relayscope.logs.journal import Journal
from relayscope.testing.waiting import wait_until


def entry(n: int, org: str = "org-1") -> dict[str, object]:
    return {"org_id": org, "record_uid": f"req-{n}", "body": "x" * 40}


def line(n: int, org: str = "org-1") -> bytes:
    return orjson.dumps(entry(n, org)) + b"\n"


def killed_owner(directory: Path, appended: range, done: range, torn: bool = False) -> None:
    """A process that journals ``appended``, marks ``done`` done, maybe starts one more
    line without finishing it, and is killed with SIGKILL."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        import orjson
        from relayscope.logs.journal import Journal

        journal = Journal(Path({str(directory)!r}))
        journal.open()
        for n in {list(appended)!r}:
            key = ("org-1", f"req-{{n}}")
            body = {{"org_id": key[0], "record_uid": key[1], "body": "x" * 40}}
            journal.append(key, orjson.dumps(body) + b"\\n")
        journal.done([("org-1", f"req-{{n}}") for n in {list(done)!r}])
        if {torn!r}:
            # Killed while copying the line: only its start reached the segment.
            torn = b'{{"org_id": "org-1", "record_uid": "req-torn", "bo'
            journal.append(("org-1", "req-torn"), torn)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], timeout=30)
    assert result.returncode == -signal.SIGKILL


def written(path: Path) -> bytes:
    """A live segment's lines: it is allocated in full, zeros after the last line."""
    return path.read_bytes().rstrip(b"\0")


def ids(entries: list[dict[str, object]]) -> list[object]:
    return [e["record_uid"] for e in entries]


def test_a_killed_process_journal_is_replayed_without_what_it_stored(tmp_path):
    killed_owner(tmp_path, range(5), done=range(2), torn=True)
    journal = Journal(tmp_path)
    journal.open()
    try:
        adopted = journal.adopt()
        assert ids(adopted) == ["req-2", "req-3", "req-4"]
        assert journal.stats.torn_lines == 1  # the line the kill cut short
        assert adopted[0] == entry(2)

        journal.done([("org-1", f"req-{n}") for n in range(2, 5)])
        # Every adopted record is done: the dead owner's files and lock are gone.
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [journal.lock_path.name, f"{journal.owner}.000001.jsonl"]
        )
    finally:
        journal.close()
    assert not list(tmp_path.iterdir()), "a clean close leaves nothing behind"


def test_replay_is_repeated_until_done_and_never_after(tmp_path):
    killed_owner(tmp_path, range(3), done=range(0))
    first = Journal(tmp_path)
    first.open()
    assert ids(first.adopt()) == ["req-0", "req-1", "req-2"]
    first.done([("org-1", "req-0")])
    first.close()  # stops (as if it died) before req-1 and req-2 were stored

    second = Journal(tmp_path)
    second.open()
    # req-0 is not replayed: its done marker went into the first adopter's journal.
    assert ids(second.adopt()) == ["req-1", "req-2"]
    second.done([("org-1", "req-1"), ("org-1", "req-2")])
    second.close()

    third = Journal(tmp_path)
    third.open()
    assert third.adopt() == []
    third.close()
    assert not list(tmp_path.iterdir())


def test_a_live_siblings_journal_is_never_adopted(tmp_path):
    sibling = Journal(tmp_path)
    sibling.open()
    sibling.append(("org-1", "req-0"), line(0))
    try:
        starting = Journal(tmp_path)
        starting.open()
        assert starting.adopt() == []
        starting.close()
        assert written(tmp_path / f"{sibling.owner}.000001.jsonl") == line(0)
    finally:
        sibling.close()


def test_two_processes_starting_together_adopt_a_dead_journal_once(tmp_path):
    killed_owner(tmp_path, range(4), done=range(0))
    one, two = Journal(tmp_path), Journal(tmp_path)
    one.open()
    two.open()
    try:
        adopted = [*one.adopt(), *two.adopt()]
        assert sorted(ids(adopted)) == ["req-0", "req-1", "req-2", "req-3"]
    finally:
        one.close()
        two.close()


def test_segments_rotate_and_are_deleted_once_every_record_is_done(tmp_path):
    journal = Journal(tmp_path, segment_bytes=300)
    journal.open()
    try:
        for n in range(20):
            journal.append(("org-1", f"req-{n}"), line(n))
        segments = sorted(tmp_path.glob("*.jsonl"))
        assert len(segments) >= 5
        assert all(p.stat().st_size < 300 + len(line(0)) for p in segments)

        journal.done([("org-1", f"req-{n}") for n in range(10)])
        left = sorted(tmp_path.glob("*.jsonl"))
        assert segments[0] not in left and len(left) < len(segments)
        journal.done([("org-1", f"req-{n}") for n in range(10, 20)])
        # Only the segment being written remains: disk use stays bounded.
        assert len(list(tmp_path.glob("*.jsonl"))) == 1
        assert journal.pending == 0
    finally:
        journal.close()


def test_a_segment_is_rotated_after_its_age_too(tmp_path):
    now = [0.0]
    journal = Journal(tmp_path, segment_seconds=60, clock=lambda: now[0])
    journal.open()
    try:
        journal.append(("org-1", "req-0"), line(0))
        now[0] = 61.0
        journal.append(("org-1", "req-1"), line(1))
        assert len(list(tmp_path.glob("*.jsonl"))) == 2
        journal.done([("org-1", "req-0")])
        assert len(list(tmp_path.glob("*.jsonl"))) == 1
    finally:
        journal.close()


def test_a_repeated_request_id_is_journaled_and_released_per_copy(tmp_path):
    journal = Journal(tmp_path)
    journal.open()
    try:
        journal.append(("org-1", "same"), line(0))
        journal.append(("org-1", "same"), line(0))
        journal.append(("org-2", "same"), line(0, "org-2"))
        journal.done([("org-1", "same")])
        assert journal.pending == 2
        journal.done([("org-1", "same"), ("org-2", "same")])
        assert journal.pending == 0
    finally:
        journal.close()


def test_fsync_follows_the_interval_not_each_record(tmp_path):
    synced: list[int] = []

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        os.fsync(fd)

    journal = Journal(tmp_path, fsync_interval=0.05, fsync=counting_fsync)
    journal.open()
    try:
        wait_until(lambda: synced, timeout=10)  # the new segment's directory entry
        synced.clear()
        journal.sync()
        assert synced == [], "nothing written, nothing to fsync"

        for n in range(1000):
            journal.append(("org-1", f"req-{n}"), line(n))
        wait_until(lambda: synced, timeout=10)
        assert len(synced) <= 3, f"{len(synced)} fsyncs for 1000 records"
    finally:
        journal.close()


def test_sync_makes_every_append_since_the_last_one_durable(tmp_path):
    synced: list[int] = []
    journal = Journal(tmp_path, fsync_interval=3600, fsync=synced.append)
    journal.open()
    try:
        journal.append(("org-1", "req-0"), line(0))
        journal.sync()
        assert len(synced) == 2  # the segment's contents, and its name in the directory
        journal.append(("org-1", "req-1"), line(1))
        journal.sync()
        assert len(synced) == 3
    finally:
        journal.close()


def test_a_journal_that_cannot_be_written_never_raises(tmp_path, monkeypatch):
    journal = Journal(tmp_path, segment_bytes=len(line(0)))
    journal.open()
    try:
        journal.append(("org-1", "req-0"), line(0))  # the first segment is now full
        journal.done([("org-1", "req-0")])
        real_fallocate = os.posix_fallocate

        def disk_full(fd: int, offset: int, length: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(journal_module.os, "posix_fallocate", disk_full)
        journal.append(("org-1", "req-1"), line(1))
        assert journal.stats.write_errors >= 1
        assert journal.pending == 0, "not journaled: the record stays with the writer"
        assert not any(b"req-1" in written(p) for p in tmp_path.glob("*.jsonl"))

        monkeypatch.setattr(journal_module.os, "posix_fallocate", real_fallocate)
        journal.append(("org-1", "req-2"), line(2))  # in a new segment, once there is room
        assert journal.pending == 1
        assert [written(p) for p in tmp_path.glob("*.jsonl")] == [line(2)]
    finally:
        journal.close()
