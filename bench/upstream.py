"""Minimal, fast OpenAI-compatible upstream for benchmarks.

A raw asyncio protocol (uvloop + httptools when available) that answers
`POST */chat/completions` and `POST */responses` (OpenAI's Responses API) with
pre-serialized bytes, so that nearly all of the latency measured through a proxy is
the proxy's own. A model named ``error-<status>`` (``error-429``, ``error-500``) is
answered with that status and an OpenAI-style error body: the sustained bench's
share of failed calls, at no cost to any other request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections.abc import Callable
from typing import Any, cast

import httptools

from bench import aio

try:
    import orjson

    _loads: Callable[[bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

CREATED = 1_700_000_000
COMPLETION_ID = "chatcmpl-bench0000000000000000000000"
CONTENT_PIECES = ["Hello", " from", " the", " bench", " upstream", "."]
CONTENT = "".join(CONTENT_PIECES)
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": len(CONTENT_PIECES),
    "total_tokens": 12 + len(CONTENT_PIECES),
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
}


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def completion_body(model: str) -> bytes:
    return _dumps(
        {
            "id": COMPLETION_ID,
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": "fp_bench",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": CONTENT, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": USAGE,
        }
    )


def _chunk(model: str, choices: list[dict[str, Any]], usage: object, with_usage: bool) -> bytes:
    obj: dict[str, Any] = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_bench",
        "choices": choices,
    }
    if with_usage:
        obj["usage"] = usage
    return b"data: " + _dumps(obj) + b"\n\n"


def stream_events(model: str, include_usage: bool, chunks: int | None = None) -> list[bytes]:
    """The SSE events of a streamed completion; with ``chunks``, that many events in all
    before ``[DONE]`` (the content pieces over and over), the usage event included."""

    def delta(d: dict[str, Any], finish: str | None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}]

    pieces = CONTENT_PIECES
    if chunks is not None:
        count = max(chunks - 2 - int(include_usage), 1)
        pieces = [CONTENT_PIECES[i % len(CONTENT_PIECES)] for i in range(count)]
    events = [_chunk(model, delta({"role": "assistant", "content": ""}, None), None, include_usage)]
    events += [_chunk(model, delta({"content": p}, None), None, include_usage) for p in pieces]
    events.append(_chunk(model, delta({}, "stop"), None, include_usage))
    if include_usage:
        events.append(_chunk(model, [], USAGE, True))
    events.append(b"data: [DONE]\n\n")
    return events


RESPONSE_ID = "resp_bench000000000000000000000000"
RESPONSE_USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": len(CONTENT_PIECES),
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 12 + len(CONTENT_PIECES),
}


def response_object(model: str, done: bool) -> dict[str, Any]:
    message = {
        "id": "msg_bench",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": CONTENT, "annotations": []}],
    }
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": CREATED,
        "status": "completed" if done else "in_progress",
        "model": model,
        "output": [message] if done else [],
        "usage": RESPONSE_USAGE if done else None,
    }


def response_events(model: str) -> list[bytes]:
    """A Responses API stream as OpenAI frames it: named events, one delta per piece."""
    at = {"item_id": "msg_bench", "output_index": 0}
    part = {"type": "output_text", "text": "", "annotations": []}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response_object(model, False)},
        {"type": "response.in_progress", "response": response_object(model, False)},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {"id": "msg_bench", "type": "message", "role": "assistant", "content": []},
        },
        {"type": "response.content_part.added", **at, "content_index": 0, "part": part},
        *(
            {"type": "response.output_text.delta", **at, "content_index": 0, "delta": piece}
            for piece in CONTENT_PIECES
        ),
        {"type": "response.output_text.done", **at, "content_index": 0, "text": CONTENT},
        {"type": "response.completed", "response": response_object(model, True)},
    ]
    return [
        b"event: %s\ndata: %s\n\n" % (e["type"].encode(), _dumps({**e, "sequence_number": n}))
        for n, e in enumerate(events)
    ]


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def json_response(body: bytes, status: bytes = b"200 OK") -> bytes:
    return b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        status,
        len(body),
        body,
    )


SSE_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n"
)
CLOSE = b"connection: close\r\n"


class Responses:
    """Pre-serialized responses, built once per (model, stream, include_usage)."""

    def __init__(self, stream_chunks: int | None = None) -> None:
        self.stream_chunks = stream_chunks
        self._json: dict[str, bytes] = {}
        self._stream: dict[tuple[str, bool], list[bytes]] = {}
        self._responses: dict[str, list[bytes]] = {}
        self.health = json_response(b'{"status":"ok"}')
        self.not_found = json_response(b'{"error":{"message":"not found"}}', b"404 Not Found")
        self.bad_request = json_response(b'{"error":{"message":"bad json"}}', b"400 Bad Request")
        self._errors: dict[str, bytes] = {}

    def completion(self, model: str) -> bytes:
        resp = self._json.get(model)
        if resp is None:
            resp = self._json[model] = json_response(completion_body(model))
        return resp

    def error(self, model: str) -> bytes | None:
        """The error answer a model named ``error-<status>`` asks for, else None."""
        resp = self._errors.get(model)
        if resp is None:
            status = model.removeprefix("error-")
            if not (status.isdigit() and len(status) == 3):
                return None
            body = _dumps({"error": {"message": f"bench upstream: HTTP {status}"}})
            resp = self._errors[model] = json_response(body, f"{status} Bench Error".encode())
        return resp

    def stream(self, model: str, include_usage: bool) -> list[bytes]:
        key = (model, include_usage)
        events = self._stream.get(key)
        if events is None:
            events = _framed(stream_events(model, include_usage, self.stream_chunks))
            self._stream[key] = events
        return events

    def response_stream(self, model: str) -> list[bytes]:
        events = self._responses.get(model)
        if events is None:
            events = self._responses[model] = _framed(response_events(model))
        return events


def _framed(events: list[bytes]) -> list[bytes]:
    """SSE events as HTTP/1.1 chunks, the head before the first, the end after the last."""
    chunks = [_http_chunk(e) for e in events]
    chunks[0] = SSE_HEAD + b"\r\n" + chunks[0]
    chunks[-1] += b"0\r\n\r\n"
    return chunks


class Stats:
    """Completions served; the runner reads it via GET /stats to count what a proxy forwarded."""

    completions = 0


class UpstreamProtocol(asyncio.Protocol):
    def __init__(self, responses: Responses, chunk_delay: float) -> None:
        self.responses = responses
        self.chunk_delay = chunk_delay
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        keep_alive = self.parser.should_keep_alive()
        path = self.url.split(b"?", 1)[0]
        method = self.parser.get_method()
        if method == b"POST" and path.endswith((b"/chat/completions", b"/responses")):
            Stats.completions += 1
            self._completion(transport, keep_alive, path.endswith(b"/responses"))
            return
        if method == b"GET" and path in (b"/healthz", b"/health", b"/"):
            self._send(transport, self.responses.health, keep_alive)
        elif method == b"GET" and path == b"/stats":
            body = b'{"completions":%d}' % Stats.completions
            self._send(transport, json_response(body), keep_alive)
        else:
            self._send(transport, self.responses.not_found, keep_alive)

    @staticmethod
    def _send(transport: asyncio.Transport, data: bytes, keep_alive: bool) -> None:
        if keep_alive:
            transport.write(data)
            return
        head, sep, rest = data.partition(b"\r\n\r\n")
        transport.write(head + b"\r\n" + CLOSE + b"\r\n" + rest if sep else data)
        transport.close()

    def _completion(
        self, transport: asyncio.Transport, keep_alive: bool, responses_api: bool = False
    ) -> None:
        try:
            req = _loads(b"".join(self.body))
            model = str(req.get("model") or "gpt-4o-mini")
        except (ValueError, AttributeError):
            self._send(transport, self.responses.bad_request, keep_alive)
            return
        if model.startswith("error-"):
            error = self.responses.error(model)
            if error is not None:
                self._send(transport, error, keep_alive)
                return
        if not req.get("stream"):
            self._send(transport, self.responses.completion(model), keep_alive)
            return
        if responses_api:
            events = self.responses.response_stream(model)
        else:
            opts = req.get("stream_options") or {}
            events = self.responses.stream(model, bool(opts.get("include_usage")))
        if self.chunk_delay <= 0:
            self._send(transport, b"".join(events), keep_alive)
            return
        transport.write(events[0])
        loop = asyncio.get_running_loop()
        for i, event in enumerate(events[1:], start=1):
            loop.call_later(self.chunk_delay * i, self._write_later, transport, event)
        if not keep_alive:
            loop.call_later(self.chunk_delay * len(events), transport.close)

    @staticmethod
    def _write_later(transport: asyncio.Transport, data: bytes) -> None:
        if not transport.is_closing():
            transport.write(data)


async def serve(
    host: str, port: int, chunk_delay_ms: float, stream_chunks: int | None = None
) -> None:
    loop = asyncio.get_running_loop()
    responses = Responses(stream_chunks)
    server = await loop.create_server(
        lambda: UpstreamProtocol(responses, chunk_delay_ms / 1000.0),
        host,
        port,
        backlog=4096,
        reuse_address=True,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"upstream listening on http://{host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18000)
    ap.add_argument(
        "--chunk-delay-ms",
        type=float,
        default=2.0,
        help="gap between SSE chunks; > 0 makes response buffering in a proxy visible",
    )
    ap.add_argument(
        "--stream-chunks",
        type=int,
        default=None,
        help="SSE events per streamed chat completion (default: the short reply's)",
    )
    args = ap.parse_args(argv)
    aio.run(serve(args.host, args.port, args.chunk_delay_ms, args.stream_chunks))


if __name__ == "__main__":
    main()
