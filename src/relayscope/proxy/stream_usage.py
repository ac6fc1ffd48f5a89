"""Makes OpenAI-format streams report usage, invisibly to the client.

Streaming chat completions only carry token usage when the request sets
``stream_options.include_usage``. When the client did not, this stage sets it and
removes the extra usage-only chunk from what the client receives; the log still
sees it, because it reads the upstream's raw bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from relayscope.context import Context, ProxyResponse
from relayscope.providers.formats.sse import EventSplitter, event_end, event_start
from relayscope.types import CallNext, Stage

if TYPE_CHECKING:
    from relayscope.config import Settings
    from relayscope.pipeline import Services


class StreamUsageStage(Stage):
    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        injected = self._inject(ctx)
        response = await call_next(ctx)
        if injected and response.stream is not None:
            # Applied by the proxy as it sends each chunk: no layer over the stream.
            ctx.client_filter = UsageStripper()
        return response

    @staticmethod
    def _inject(ctx: Context) -> bool:
        provider = ctx.target.provider
        if ctx.target.format != "openai" or (provider and not provider.stream_usage_option):
            return False
        if not ctx.target.url.endswith("/chat/completions") or not ctx.wants_stream:
            return False
        data = ctx.json
        assert isinstance(data, dict)
        options = data.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            return False
        options = options if isinstance(options, dict) else {}
        ctx.set_json({**data, "stream_options": {**options, "include_usage": True}})
        return True


_LARGEST_USAGE_EVENT = 64 * 1024
"""A usage-only chunk is a few hundred bytes: an event longer than this is forwarded
as it arrives instead of being held until it ends."""
_USAGE_OBJECT = (b'"usage":{', b'"usage": {')
"""How usage objects are spelt: compact (OpenAI) and with Python's default separators."""


class UsageStripper:
    """The client's view of a stream whose usage the gateway asked for: the same bytes
    less its usage-only events (``Context.client_filter``).

    Per chunk it costs a byte search or two (no JSON parse unless the chunk holds a
    usage object). A chunk ending mid-event holds that event's start back until it
    ends, unless it grows past ``_LARGEST_USAGE_EVENT``.
    """

    __slots__ = ("_events",)

    def __init__(self) -> None:
        self._events = EventSplitter()

    def feed(self, chunk: bytes) -> bytes:
        events = self._events
        run = events.feed_run(chunk)
        if run:
            pieces = _without_usage_only_events(run)
            run = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if events.pending > _LARGEST_USAGE_EVENT:
            run += events.take_pending()
        return run

    def end(self) -> bytes:
        return self._events.rest()


def _without_usage_only_events(run: bytes) -> list[bytes]:
    """``run`` (complete events) less its usage-only events, in pieces (not joined:
    copying a long replayed stream again would cost more than the search).

    Only events holding a usage object are looked at, found by substring search: with
    include_usage every chunk says "usage": null, and looking at each of a long
    stream's events would dominate a cache replay.
    """
    dropped = []
    for spelling in _USAGE_OBJECT:
        at = run.find(spelling)
        while at != -1:
            start = event_start(run, at)
            end = event_end(run, at + len(spelling))
            if _usage_only(run[start:end]):
                dropped.append((start, end))
            at = run.find(spelling, end)
    if not dropped:
        return [run] if run else []
    pieces = []
    kept_from = 0
    for start, end in sorted(set(dropped)):
        if start > kept_from:
            pieces.append(run[kept_from:start])
        kept_from = max(kept_from, end)
    if kept_from < len(run):
        pieces.append(run[kept_from:])
    return pieces


def _usage_only(event: bytes) -> bool:
    for line in event.splitlines():
        if line.startswith(b"data:"):
            try:
                data = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                return False
            return isinstance(data, dict) and not data.get("choices") and bool(data.get("usage"))
    return False


def build(settings: Settings, services: Services) -> StreamUsageStage:
    """Always on: it costs nothing unless the client streams without asking for usage."""
    return StreamUsageStage()
