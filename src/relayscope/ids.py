"""Random UUIDs for the hot path, without a system call per id.

``uuid.uuid4()`` reads 16 bytes with ``os.urandom``, a system call that releases the
GIL: on the event loop, while a log-writing thread is busy, getting the GIL back
waits up to the switch interval. Here the bytes come from the same source, 4 KiB
at a time, so one call in 256 reads it. A forked child starts with a fresh buffer:
parent and child never hand out the same ids.
"""

from __future__ import annotations

import os
import threading
import uuid

_BATCH = 16 * 256


class _Buffer(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.at = 0


_buffer = _Buffer()


def _forget() -> None:
    global _buffer
    _buffer = _Buffer()


os.register_at_fork(after_in_child=_forget)


def random_uuid() -> str:
    """A version 4 UUID in its canonical text form, as ``str(uuid.uuid4())``."""
    buffer = _buffer
    at = buffer.at
    if at + 16 > len(buffer.data):
        buffer.data, at = os.urandom(_BATCH), 0
    buffer.at = at + 16
    return str(uuid.UUID(bytes=buffer.data[at : at + 16], version=4))
