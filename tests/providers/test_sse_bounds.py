"""Server-sent events are cut, re-framed and assembled in time linear in their size,
and a long event is forwarded as it arrives instead of being held."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayscope.errors import UpstreamError
from relayscope.providers.formats.sse import EventSplitter
from relayscope.providers.translate import streams
from relayscope.proxy.stream_usage import UsageStripper
from relayscope.testing.bodies import openai_stream

GROWTH_BOUND = 10 * 2.5
"""Ten times the input may cost ten times the work, with a 2.5x allowance for noise."""

MIXED = b"data: a\n\ndata: b\r\n\r\nevent: x\ndata: c\n\n: comment\r\n\r\ndata: d\n\ndata: tail"
MIXED_EVENTS = [b"data: a\n\n", b"data: b\r\n\r\n", b"event: x\ndata: c\n\n",
                b": comment\r\n\r\n", b"data: d\n\n"]  # fmt: skip


@given(st.lists(st.integers(min_value=0, max_value=len(MIXED)), max_size=12))
def test_events_are_the_same_however_the_stream_is_chunked(cuts):
    points = [0, *sorted(cuts), len(MIXED)]
    splitter = EventSplitter()
    events = []
    for start, end in itertools.pairwise(points):
        events.extend(splitter.feed(MIXED[start:end]))
    assert events == MIXED_EVENTS
    assert splitter.rest() == b"data: tail"


@given(st.lists(st.integers(min_value=0, max_value=len(MIXED)), max_size=12))
def test_runs_of_events_hold_every_byte_in_order(cuts):
    points = [0, *sorted(cuts), len(MIXED)]
    splitter = EventSplitter()
    runs = [splitter.feed_run(MIXED[start:end]) for start, end in itertools.pairwise(points)]
    assert b"".join(runs) + splitter.rest() == MIXED
    assert b"".join(runs) == b"".join(MIXED_EVENTS)


def least_time(work: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def assert_linear(work: Callable[[int], object], small: int) -> None:
    """``work(10 * small)`` may cost at most ``GROWTH_BOUND`` times ``work(small)``."""
    little = least_time(lambda: work(small))
    large = least_time(lambda: work(10 * small))
    assert large / little <= GROWTH_BOUND, f"{small}: {little:.4f} s, x10: {large:.4f} s"


def test_splitting_one_large_chunk_is_linear():
    bodies = {size: openai_stream(size)[0] for size in (1_000_000, 10_000_000)}
    assert_linear(lambda size: EventSplitter().feed(bodies[size]), 1_000_000)


async def chunks_of(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def stripped(body: bytes, size: int) -> Iterator[bytes]:
    """What the client is sent of ``body`` arriving in ``size``-byte chunks."""
    stripper = UsageStripper()
    for start in range(0, len(body), size):
        yield stripper.feed(body[start : start + size])
    yield stripper.end()


def test_a_long_event_is_forwarded_before_it_ends():
    long_event = b'data: {"choices":[{"delta":{"content":"' + b"x" * 1_000_000 + b'"}}]}\n\n'
    forwarded = 0
    for piece in stripped(long_event, 4096):
        forwarded += len(piece)
        if forwarded >= 500_000:
            break  # half of the event reached the client while it was still arriving
    assert forwarded >= 500_000


def test_stripping_keeps_every_byte_but_the_usage_chunk():
    body, _ = openai_stream(200_000)
    out = b"".join(stripped(body, 777))
    assert b'"usage"' not in out
    assert out.endswith(b"data: [DONE]\n\n")
    assert len(body) - len(out) < 300


async def test_translation_refuses_an_event_larger_than_it_holds(monkeypatch):
    monkeypatch.setattr(streams, "LARGEST_EVENT", 64 * 1024)
    endless = b'data: {"choices":[{"delta":{"content":"' + b"x" * 1_000_000
    translated = streams.translate_stream(
        chunks_of(endless, 4096), served="openai", client="anthropic", include_usage=False
    )
    with pytest.raises(UpstreamError, match="larger than"):
        async for _ in translated:
            pass
