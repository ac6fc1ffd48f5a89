"""Request ids made without a system call each: still random version 4 UUIDs, and a
forked child never repeats its parent's."""

from __future__ import annotations

import os
import uuid

from relayscope.ids import random_uuid


def test_ids_are_canonical_version_4_uuids_and_never_repeat():
    made = [random_uuid() for _ in range(5000)]  # crosses many 4 KiB refills
    assert len(set(made)) == len(made)
    for text in made[:300]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_hand_out_its_parents_next_ids():
    random_uuid()  # the parent's buffer now holds its next ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, "\n".join(random_uuid() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split("\n"))
    os.waitpid(pid, 0)
    parent = {random_uuid() for _ in range(10)}
    assert len(child) == 10
    assert not child & parent
