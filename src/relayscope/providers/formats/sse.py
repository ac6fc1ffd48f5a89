"""Server-sent events, as the providers frame them."""

from __future__ import annotations

import re
from collections.abc import Iterator

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n")
_LONGEST_BOUNDARY = 4


def iter_events(raw: bytes) -> Iterator[tuple[str, str]]:
    """Yield ``(event, data)`` for each complete event in ``raw``."""
    text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
    for block in text.split("\n\n"):
        event, data = "", []
        for line in block.split("\n"):
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("event:"):
                event = line[6:].strip()
        if data:
            yield event, "\n".join(data)


class EventSplitter:
    """Cuts a byte stream, however it is chunked, into events (each with its blank-line
    terminator).

    Every byte is scanned once and copied once: cutting one event at a time off the
    front of a ``bytes`` buffer copied the rest of it per event, so a large chunk (a
    whole cached stream replayed at once) cost time quadratic in its size.
    """

    __slots__ = ("_buffer", "_scanned")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scanned = 0
        """No event boundary starts before this offset of ``_buffer``."""

    def feed(self, chunk: bytes) -> list[bytes]:
        """The events ``chunk`` completes, in order."""
        buffer = self._buffer
        buffer += chunk
        events = []
        start = 0
        for boundary in _BOUNDARY.finditer(buffer, self._scanned):
            end = boundary.end()
            events.append(bytes(buffer[start:end]))
            start = end
        # A boundary may begin in the last few bytes and end in the next chunk.
        self._scanned = max(start, len(buffer) - _LONGEST_BOUNDARY + 1) - start
        if start:
            del buffer[:start]  # O(1) in CPython: it moves the start of the array
        return events

    def feed_run(self, chunk: bytes) -> bytes:
        """The complete events ``chunk`` ends, as one run of bytes, for a caller that
        does not need them one by one (empty when ``chunk`` ends none)."""
        buffer = self._buffer
        if not buffer and _end_of_last_boundary(chunk, 0) == len(chunk):
            return chunk  # the usual case, network chunk or replay: nothing to copy
        buffer += chunk
        cut = _end_of_last_boundary(buffer, self._scanned)
        self._scanned = max(cut, len(buffer) - _LONGEST_BOUNDARY + 1) - cut
        if not cut:
            return b""
        run = bytes(buffer[:cut])
        del buffer[:cut]
        return run

    @property
    def pending(self) -> int:
        """Bytes of the event not yet complete."""
        return len(self._buffer)

    def take_pending(self) -> bytes:
        """Hand out what there is of the incomplete event so far (less the bytes that may
        begin its terminator), for a caller that forwards it without waiting for the rest."""
        keep = _LONGEST_BOUNDARY - 1
        taken = bytes(self._buffer[:-keep])
        del self._buffer[:-keep]
        self._scanned = 0
        return taken

    def rest(self) -> bytes:
        """Whatever is left after the last complete event (at the end of the stream)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._scanned = 0
        return rest


def _end_of_last_boundary(buffer: bytes | bytearray, start: int) -> int:
    """Where the last event boundary at or after ``start`` ends (0: none)."""
    lf = buffer.rfind(b"\n\n", start)
    crlf = buffer.rfind(b"\r\n\r\n", max(start, lf))
    if crlf != -1:
        return crlf + 4
    return lf + 2 if lf != -1 else 0


def event_start(raw: bytes, position: int, earliest: int = 0) -> int:
    """Where the event holding ``position`` begins: after the last boundary before it
    (``earliest`` if there is none from there on).

    Steps back a line at a time, so it costs the length of that event, not of ``raw``.
    """
    end = position
    while True:
        newline = raw.rfind(b"\n", earliest, end)
        if newline == -1:
            return earliest
        if newline > earliest and raw[newline - 1] == 0x0A:
            return newline + 1
        if newline - 3 >= earliest and raw[newline - 3 : newline + 1] == b"\r\n\r\n":
            return newline + 1
        end = newline


def event_end(raw: bytes, position: int) -> int:
    """Where the event holding ``position`` ends, its terminator included."""
    boundary = _BOUNDARY.search(raw, position)
    return boundary.end() if boundary is not None else len(raw)
