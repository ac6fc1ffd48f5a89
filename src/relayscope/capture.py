"""What the log keeps of a response body: a bounded copy, however large the body.

The client gets every byte as it arrives. The log writer gets the first ``limit``
bytes, the last ``TAIL`` bytes past them (where a stream reports its usage) and
the size: a 400 MB stream costs the gateway a few MB, and its record takes the
writer no longer than any other large one.
"""

from __future__ import annotations

import json
import re
from collections import deque

import orjson

from relayscope.providers.formats import Parsed, parse_response
from relayscope.providers.formats.sse import event_end, event_start

DEFAULT_LIMIT = 4 * 1024 * 1024
TAIL = 64 * 1024
"""Bytes kept from the end of a body past the limit: the usage of a stream is in its
last events (OpenAI's usage chunk, Anthropic's ``message_delta``)."""
_DECODER = json.JSONDecoder()
_FIRST_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_USAGE_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)


class BodyCapture:
    """The first ``limit`` bytes of a body, its last ``TAIL`` bytes, and its size.

    ``keep_whole`` lets the cache ask for every byte as well, up to its own bound.
    """

    __slots__ = (
        "_head",
        "_head_size",
        "_tail",
        "_tail_size",
        "_whole",
        "_whole_limit",
        "limit",
        "size",
    )

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._whole_limit = 0
        self.reset()

    def reset(self) -> None:
        """Forget the body (a retried attempt's response replaces it)."""
        self.size = 0
        self._head: list[bytes] = []
        self._head_size = 0
        self._tail: deque[bytes] = deque()
        self._tail_size = 0
        self._whole: list[bytes] | None = [] if self._whole_limit else None

    def keep_whole(self, limit: int) -> None:
        """Keep every byte too, for as long as the body is at most ``limit`` bytes."""
        self._whole_limit = limit
        self._whole = [] if self.size == 0 else None

    def replace(self, body: bytes) -> None:
        self.reset()
        self.add(body)

    def add(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.size += len(chunk)
        room = self.limit - self._head_size
        if room >= len(chunk):
            self._head.append(chunk)
            self._head_size += len(chunk)
        else:
            if room > 0:
                self._head.append(chunk[:room])
                self._head_size = self.limit
            self._add_tail(chunk[max(room, 0, len(chunk) - TAIL) :])
        if self._whole is not None:
            if self.size <= self._whole_limit:
                self._whole.append(chunk)
            else:
                self._whole = None

    def _add_tail(self, data: bytes) -> None:
        self._tail.append(data)
        self._tail_size += len(data)
        while self._tail_size - len(self._tail[0]) >= TAIL:
            self._tail_size -= len(self._tail.popleft())

    @classmethod
    def restored(cls, limit: int, head: bytes, tail: bytes, size: int) -> BodyCapture:
        """The capture that ``head()``, ``tail()`` and ``size`` describe (the crash journal)."""
        capture = cls(limit)
        capture.size = size
        capture._head, capture._head_size = [head], len(head)
        capture._tail, capture._tail_size = deque([tail] if tail else []), len(tail)
        capture._whole = None
        return capture

    @property
    def kept(self) -> int:
        """Bytes held for the log: the head and the tail."""
        return self._head_size + self._tail_size

    @property
    def truncated(self) -> bool:
        return self.size > self.limit

    def head(self) -> bytes:
        """The first ``limit`` bytes (the whole body when it is not truncated)."""
        return b"".join(self._head)

    def tail(self) -> bytes:
        """The last bytes past the head, up to about ``TAIL`` of them."""
        return b"".join(self._tail)

    @property
    def gap(self) -> int:
        """Bytes between the head and the tail that were not kept."""
        return self.size - self._head_size - self._tail_size

    def whole(self) -> bytes | None:
        """Every byte of the body, if they were kept (``keep_whole``, or a short body)."""
        if self._whole is not None:
            return b"".join(self._whole)
        return None if self.truncated else self.head()


def parse_captured(fmt: str, body: BodyCapture, *, stream: bool) -> Parsed:
    """Model, usage and body of a response, from what ``body`` kept of it.

    A truncated stream is assembled from the complete events of its head; its usage
    comes from the complete events of its tail when they report it. A truncated
    JSON body does not parse: it is kept as text, without usage.
    """
    if not body.truncated:
        return parse_response(fmt, body.head(), stream=stream)
    head = body.head()
    if not stream:
        parsed = Parsed(body=head.decode("utf-8", errors="replace"))
        model = _FIRST_MODEL.search(head, 0, 4096)
        parsed.model = model.group(1).decode("utf-8", errors="replace") if model else None
        _take_usage(parsed, _usage_near_the_end(fmt, body.tail()))
        return parsed
    complete = event_start(head, len(head))
    parsed = parse_response(fmt, head[:complete], stream=True)
    tail = body.tail()
    # With a gap, the tail's first event began in it: only the events after it are whole.
    ending = tail[event_end(tail, 0) :] if body.gap else head[complete:] + tail
    _take_usage(parsed, _stream_ending(fmt, ending, tail))
    return parsed


def parse_usage(fmt: str, body: BodyCapture, *, stream: bool) -> Parsed:
    """Model and usage only, reading at most about ``2 * TAIL`` bytes of a stream.

    For the hot path (rate limits by cost): a stream reports its usage at its start
    (Anthropic's ``message_start``) and its end, never in between.
    """
    if not stream or body.size <= 2 * TAIL:
        return parse_captured(fmt, body, stream=stream)
    head = body.head()
    start = head[: event_start(head, min(TAIL, len(head)))]
    ending = body.tail() if body.truncated else head[-TAIL:]
    parsed = parse_response(fmt, start, stream=True)
    _take_usage(parsed, _stream_ending(fmt, ending[event_end(ending, 0) :], ending))
    return parsed


def _stream_ending(fmt: str, events: bytes, raw_end: bytes) -> Parsed:
    """Usage from a stream's last complete events; for the Responses API, whose usage
    rides on a final event that repeats the whole output (longer than what is kept of
    the end when the output is long), from the usage object near the end instead."""
    ending = parse_response(fmt, events, stream=True)
    if fmt == "responses" and ending.prompt_tokens is None:
        return _usage_near_the_end(fmt, raw_end)
    return ending


def _usage_near_the_end(fmt: str, tail: bytes) -> Parsed:
    """The usage object of a JSON answer cut short, from its last bytes: providers
    write ``usage`` last (and ``model`` first, which the head still has)."""
    at = tail.rfind(b'"usage"')
    start = tail.find(b"{", at) if at != -1 else -1
    if start == -1:
        return Parsed()
    try:
        usage, _ = _DECODER.raw_decode(tail[start:].decode("utf-8", errors="replace"))
    except ValueError:
        return Parsed()
    return parse_response(fmt, orjson.dumps({"usage": usage}), stream=False)


def _take_usage(parsed: Parsed, ending: Parsed) -> None:
    for name in _USAGE_FIELDS:
        value = getattr(ending, name)
        if value is not None:
            setattr(parsed, name, value)
    parsed.model = parsed.model or ending.model
