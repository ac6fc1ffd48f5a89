"""Makes OpenAI-format streams report usage, invisibly to the client.

Streaming chat completions only carry token usage when the request sets
``stream_options.include_usage``. When the client did not, this stage sets it and
removes the extra usage-only chunk from what the client receives; the log still
sees it, because it reads the upstream's raw bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson

from relayscope.context import Context, ProxyResponse
from relayscope.providers.formats.sse import split_events
from relayscope.types import CallNext


class StreamUsageStage:
    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        injected = self._inject(ctx)
        response = await call_next(ctx)
        if injected and response.stream is not None:
            response.stream = strip_usage_chunks(response.stream)
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


async def strip_usage_chunks(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    buffer = b""
    try:
        async for chunk in stream:
            events, buffer = split_events(buffer + chunk)
            kept = b"".join(event for event in events if not _usage_only(event))
            if kept:
                yield kept
        if buffer:
            yield buffer
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _usage_only(event: bytes) -> bool:
    if b'"usage"' not in event:
        return False
    for line in event.splitlines():
        if line.startswith(b"data:"):
            try:
                data = orjson.loads(line[5:])
            except orjson.JSONDecodeError:
                return False
            return isinstance(data, dict) and not data.get("choices") and bool(data.get("usage"))
    return False
