"""Server-sent events, as the providers frame them."""

from __future__ import annotations

from collections.abc import Iterator


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


def split_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Split off complete events (each with its blank-line terminator) from ``buffer``."""
    events = []
    while True:
        end = buffer.find(b"\n\n")
        end_crlf = buffer.find(b"\r\n\r\n")
        if end_crlf != -1 and (end == -1 or end_crlf < end):
            cut = end_crlf + 4
        elif end != -1:
            cut = end + 2
        else:
            return events, buffer
        events.append(buffer[:cut])
        buffer = buffer[cut:]
