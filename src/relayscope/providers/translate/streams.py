"""Streams, event by event as they arrive: Anthropic SSE ⇄ OpenAI chunk SSE."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import orjson

from relayscope.errors import UpstreamError
from relayscope.providers.formats.sse import EventSplitter, iter_events
from relayscope.providers.registry import Format
from relayscope.providers.translate.responses import (
    FINISH_REASONS,
    STOP_REASONS,
    anthropic_usage,
    openai_usage,
)

if TYPE_CHECKING:
    from relayscope.context import ByteStream

LARGEST_EVENT = 16 * 1024 * 1024
"""An event is translated whole, so it is held until it ends: up to this size."""


async def translate_stream(
    stream: ByteStream, *, served: Format, client: Format, include_usage: bool
) -> AsyncGenerator[bytes, None]:
    """Re-frame ``stream`` from the ``served`` format into the ``client`` format.

    ``include_usage``: an OpenAI client asked for (or was given) the final usage chunk.
    """
    # A wrapper, not a stream-end callback: every chunk's bytes change on their way.
    translator: _Translator = (
        _AnthropicToOpenAI(include_usage) if client == "openai" else _OpenAIToAnthropic()
    )
    events = EventSplitter()
    async with aclosing(stream):
        async for chunk in stream:
            out = b"".join(
                b"".join(translator.event(e, d))
                for raw in events.feed(chunk)
                for e, d in iter_events(raw)
            )
            if out:
                yield out
            if events.pending > LARGEST_EVENT:
                raise UpstreamError(
                    f"The provider sent a stream event larger than {LARGEST_EVENT} bytes"
                )
        tail = b"".join(translator.end())
        if tail:
            yield tail


class _Translator:
    def event(self, name: str, data: str) -> list[bytes]:
        raise NotImplementedError

    def end(self) -> list[bytes]:
        raise NotImplementedError


class _AnthropicToOpenAI(_Translator):
    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self.id = ""
        self.model = ""
        self.created = int(time.time())
        self.tools: dict[int, int] = {}
        """Anthropic content block index → OpenAI tool call index."""
        self.usage: dict[str, Any] = {}
        self.finished = False
        self.done = False

    def event(self, name: str, data: str) -> list[bytes]:
        payload = orjson.loads(data)
        kind = payload.get("type", name)
        if kind == "message_start":
            message = payload.get("message") or {}
            self.id, self.model = message.get("id", ""), message.get("model", "")
            self.usage.update(message.get("usage") or {})
            return [self._chunk({"role": "assistant"})]
        if kind == "content_block_start":
            block = payload.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tools[payload.get("index", 0)] = len(self.tools)
                call = {
                    "index": index,
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": ""},
                }
                return [self._chunk({"tool_calls": [call]})]
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": delta.get("text", "")})]
            if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                index = self.tools.get(payload.get("index", 0), 0)
                call = {"index": index, "function": {"arguments": delta["partial_json"]}}
                return [self._chunk({"tool_calls": [call]})]
            return []
        if kind == "message_delta":
            self.usage.update(payload.get("usage") or {})
            reason = (payload.get("delta") or {}).get("stop_reason")
            self.finished = True
            return [self._chunk({}, FINISH_REASONS.get(reason or "", "stop"))]
        if kind == "message_stop":
            return self._close()
        if kind == "error":
            error = payload.get("error") or {}
            body = {"error": {"message": error.get("message", ""), "type": error.get("type")}}
            return [b"data: " + orjson.dumps(body) + b"\n\n"]
        return []

    def end(self) -> list[bytes]:
        return self._close() if self.finished and not self.done else []

    def _close(self) -> list[bytes]:
        self.done = True
        out = []
        if self.include_usage:
            out.append(self._chunk(None, usage=openai_usage(self.usage)))
        out.append(b"data: [DONE]\n\n")
        return out

    def _chunk(
        self,
        delta: dict[str, Any] | None,
        finish: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage is not None:
            chunk["usage"] = usage
        return b"data: " + orjson.dumps(chunk) + b"\n\n"


class _OpenAIToAnthropic(_Translator):
    def __init__(self) -> None:
        self.started = False
        self.done = False
        self.blocks = 0
        self.open_kind: str | None = None
        self.tool_blocks: set[int] = set()
        self.finish: str | None = None
        self.usage: dict[str, Any] = {}

    def event(self, name: str, data: str) -> list[bytes]:
        if data.strip() == "[DONE]":
            return self._close() if not self.done else []
        chunk = orjson.loads(data)
        if not isinstance(chunk, dict):
            return []
        if isinstance(chunk.get("error"), dict):
            error = chunk["error"]
            body = {
                "type": "error",
                "error": {
                    "type": error.get("type") or "api_error",
                    "message": error.get("message", ""),
                },
            }
            return [_event("error", body)]
        out = []
        if not self.started:
            self.started = True
            out.append(self._start(chunk))
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if self.open_kind != "text":
                    out.extend(self._open({"type": "text", "text": ""}, "text"))
                out.append(self._delta({"type": "text_delta", "text": delta["content"]}))
            for call in delta.get("tool_calls") or []:
                index = call.get("index", 0)
                function = call.get("function") or {}
                if index not in self.tool_blocks:
                    self.tool_blocks.add(index)
                    block: dict[str, Any] = {
                        "type": "tool_use",
                        "id": call.get("id") or "",
                        "name": function.get("name") or "",
                        "input": {},
                    }
                    out.extend(self._open(block, "tool"))
                if function.get("arguments"):
                    delta_json = {"type": "input_json_delta", "partial_json": function["arguments"]}
                    out.append(self._delta(delta_json))
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return out

    def end(self) -> list[bytes]:
        return self._close() if self.started and not self.done else []

    def _start(self, chunk: dict[str, Any]) -> bytes:
        message = {
            "id": chunk.get("id", ""),
            "type": "message",
            "role": "assistant",
            "model": chunk.get("model", ""),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"type": "message_start", "message": message})

    def _open(self, block: dict[str, Any], kind: str) -> list[bytes]:
        out = self._stop_block()
        self.open_kind = kind
        start = {"type": "content_block_start", "index": self.blocks, "content_block": block}
        return [*out, _event("content_block_start", start)]

    def _stop_block(self) -> list[bytes]:
        if self.open_kind is None:
            return []
        self.open_kind = None
        stop = {"type": "content_block_stop", "index": self.blocks}
        self.blocks += 1
        return [_event("content_block_stop", stop)]

    def _delta(self, delta: dict[str, Any]) -> bytes:
        body = {"type": "content_block_delta", "index": self.blocks, "delta": delta}
        return _event("content_block_delta", body)

    def _close(self) -> list[bytes]:
        self.done = True
        out = self._stop_block()
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": STOP_REASONS.get(self.finish or "", "end_turn"),
                "stop_sequence": None,
            },
            "usage": anthropic_usage(self.usage),
        }
        out.append(_event("message_delta", delta))
        out.append(_event("message_stop", {"type": "message_stop"}))
        return out


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
