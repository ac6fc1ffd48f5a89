"""The fake's endpoints besides chat: models, moderations, images, audio, files,
batches (OpenAI), token counting and message batches (Anthropic).

Each answers in the provider's documented shape, from what the request says, so the
real SDKs parse the replies. Files and batches are kept in memory per server.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .conversation import InvalidRequest, count_words, requested_model

JSON = b"application/json"
AUDIO = b"audio/mpeg"
TEXT = b"text/plain; charset=utf-8"
JSONL = b"application/binary"
EVENT_STREAM = b"text/event-stream; charset=utf-8"
SPEECH_BYTES_PER_CHARACTER = 1024
"""Size of the fake's speech: large enough for tests of the log's body cap."""
OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "o3-mini", "text-embedding-3-small")
ANTHROPIC_MODELS = ("claude-sonnet-4-20250514", "claude-3-5-haiku-20241022")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content_type: bytes
    body: bytes


Handler = Callable[[re.Match[str], "Request"], Answer]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    content_type: str
    body: bytes
    payload: Any
    anthropic: bool


def _json(value: Any, status: int = 200) -> Answer:
    return Answer(status, JSON, orjson.dumps(value))


class Resources:
    """Routes by method and path (any provider prefix before ``/v1``-style paths)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._files: dict[str, tuple[dict[str, Any], bytes]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._message_batches: dict[str, tuple[dict[str, Any], list[Any]]] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r".*/messages/count_tokens$"), self._count_tokens),
            ("POST", re.compile(r".*/messages/batches$"), self._create_message_batch),
            ("GET", re.compile(r".*/messages/batches/([^/]+)$"), self._get_message_batch),
            ("GET", re.compile(r".*/messages/batches/([^/]+)/results$"), self._batch_results),
            ("GET", re.compile(r".*/models$"), self._models),
            ("GET", re.compile(r".*/models/([^/:]+)$"), self._model),
            ("POST", re.compile(r".*/moderations$"), self._moderations),
            ("POST", re.compile(r".*/images/generations$"), self._images),
            ("POST", re.compile(r".*/audio/transcriptions$"), self._transcription),
            ("POST", re.compile(r".*/audio/speech$"), self._speech),
            ("POST", re.compile(r".*/files$"), self._upload),
            ("GET", re.compile(r".*/files/([^/]+)$"), self._file),
            ("GET", re.compile(r".*/files/([^/]+)/content$"), self._file_content),
            ("DELETE", re.compile(r".*/files/([^/]+)$"), self._delete_file),
            ("POST", re.compile(r".*/batches$"), self._create_batch),
            ("GET", re.compile(r".*/batches/([^/]+)$"), self._get_batch),
            ("POST", re.compile(r".*/batches/([^/]+)/cancel$"), self._cancel_batch),
        ]

    def answer(self, request: Request) -> Answer | None:
        """The reply to ``request``, or None when no route here takes it."""
        for method, pattern, handler in self._routes:
            found = pattern.fullmatch(request.path.rstrip("/"))
            if found is not None and request.method == method:
                return handler(found, request)
        return None

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    # Anthropic

    def _count_tokens(self, _: re.Match[str], request: Request) -> Answer:
        from .anthropic_wire import count_tokens_body

        return Answer(200, JSON, count_tokens_body(request.payload))

    def _create_message_batch(self, _: re.Match[str], request: Request) -> Answer:
        payload = request.payload
        requests = payload.get("requests") if isinstance(payload, Mapping) else None
        if not isinstance(requests, list) or not requests:
            raise InvalidRequest("'requests' must be a non-empty list")
        ident = self._id("msgbatch_fake")
        now = _iso(time.time())
        batch = {
            "id": ident,
            "type": "message_batch",
            "processing_status": "ended",
            "request_counts": {
                "processing": 0,
                "succeeded": len(requests),
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "ended_at": now,
            "created_at": now,
            "expires_at": now,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"/v1/messages/batches/{ident}/results",
        }
        self._message_batches[ident] = (batch, requests)
        return _json(batch)

    def _get_message_batch(self, found: re.Match[str], _: Request) -> Answer:
        stored = self._message_batches.get(found.group(1))
        return _json(stored[0]) if stored else _not_found(found.group(1))

    def _batch_results(self, found: re.Match[str], _: Request) -> Answer:
        stored = self._message_batches.get(found.group(1))
        if stored is None:
            return _not_found(found.group(1))
        lines = []
        for entry in stored[1]:
            params = entry.get("params") if isinstance(entry, Mapping) else None
            model = requested_model(params if isinstance(params, Mapping) else {}, "fake-model")
            message = {
                "id": self._id("msg_fake"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": "Echo: batched"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 5, "output_tokens": 2},
            }
            result = {"type": "succeeded", "message": message}
            lines.append(orjson.dumps({"custom_id": entry.get("custom_id"), "result": result}))
        return Answer(200, JSONL, b"\n".join(lines) + b"\n")

    # Both

    def _models(self, _: re.Match[str], request: Request) -> Answer:
        if request.anthropic:
            data = [_anthropic_model(name) for name in ANTHROPIC_MODELS]
            return _json(
                {
                    "data": data,
                    "has_more": False,
                    "first_id": data[0]["id"],
                    "last_id": data[-1]["id"],
                }
            )
        return _json({"object": "list", "data": [_openai_model(name) for name in OPENAI_MODELS]})

    def _model(self, found: re.Match[str], request: Request) -> Answer:
        name = found.group(1)
        return _json(_anthropic_model(name) if request.anthropic else _openai_model(name))

    # OpenAI

    def _moderations(self, _: re.Match[str], request: Request) -> Answer:
        payload = request.payload
        if not isinstance(payload, Mapping) or "input" not in payload:
            raise InvalidRequest("'input' is required")
        inputs = payload["input"] if isinstance(payload["input"], list) else [payload["input"]]
        categories = ("harassment", "hate", "self-harm", "sexual", "violence")
        results = []
        for item in inputs:
            flagged = isinstance(item, str) and "violence" in item.lower()
            results.append(
                {
                    "flagged": flagged,
                    "categories": {c: flagged and c == "violence" for c in categories},
                    "category_scores": {
                        c: 0.9 if flagged and c == "violence" else 0.001 for c in categories
                    },
                    "category_applied_input_types": {c: ["text"] for c in categories},
                }
            )
        model = requested_model(payload, "omni-moderation-latest")
        return _json({"id": self._id("modr-fake"), "model": model, "results": results})

    def _images(self, _: re.Match[str], request: Request) -> Answer:
        payload = request.payload
        if not isinstance(payload, Mapping) or not isinstance(payload.get("prompt"), str):
            raise InvalidRequest("'prompt' must be a string")
        count = payload.get("n", 1)
        if not isinstance(count, int) or not 1 <= count <= 10:
            raise InvalidRequest("'n' must be an integer in 1..10")
        model = requested_model(payload, "dall-e-2")
        image = base64.b64encode(_png(payload["prompt"])).decode()
        as_url = payload.get("response_format") == "url"
        data = [
            {"url": f"https://images.fake/{n}.png"} if as_url else {"b64_json": image}
            for n in range(count)
        ]
        body: dict[str, Any] = {"created": int(time.time()), "data": data}
        if model.startswith("gpt-image"):
            prompt = count_words(payload["prompt"])
            body["usage"] = {
                "input_tokens": prompt,
                "input_tokens_details": {"text_tokens": prompt, "image_tokens": 0},
                "output_tokens": 272 * count,
                "total_tokens": prompt + 272 * count,
            }
        return _json(body)

    def _transcription(self, _: re.Match[str], request: Request) -> Answer:
        fields = _form_fields(request)
        audio = fields.get("file")
        if audio is None:
            raise InvalidRequest("'file' is required")
        text = f"Fake transcription of {len(audio)} bytes"
        model = fields.get("model", b"whisper-1").decode()
        digest = hashlib.sha256(audio).hexdigest()
        if fields.get("response_format") == b"text":
            return Answer(200, TEXT, text.encode())
        if fields.get("stream") == b"true":
            return Answer(200, EVENT_STREAM, _transcript_events(text, len(audio)))
        body: dict[str, Any] = {"text": text, "sha256": digest}
        if model.startswith("gpt-4o"):
            words = count_words(text)
            body["usage"] = {
                "type": "tokens",
                "input_tokens": len(audio) // 1000 + 1,
                "input_token_details": {"text_tokens": 0, "audio_tokens": len(audio) // 1000 + 1},
                "output_tokens": words,
                "total_tokens": len(audio) // 1000 + 1 + words,
            }
        else:
            body["usage"] = {"type": "duration", "seconds": max(1, len(audio) // 32000)}
        return _json(body)

    def _speech(self, _: re.Match[str], request: Request) -> Answer:
        payload = request.payload
        if not isinstance(payload, Mapping) or not isinstance(payload.get("input"), str):
            raise InvalidRequest("'input' must be a string")
        text = payload["input"]
        seed = hashlib.sha256(text.encode()).digest()
        size = max(1, len(text)) * SPEECH_BYTES_PER_CHARACTER
        return Answer(200, AUDIO, b"ID3" + (seed * (size // len(seed) + 1))[: size - 3])

    def _upload(self, _: re.Match[str], request: Request) -> Answer:
        fields = _form_fields(request)
        content = fields.get("file")
        if content is None:
            raise InvalidRequest("'file' is required")
        ident = self._id("file-fake")
        meta = {
            "id": ident,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": _filename(request) or "upload",
            "purpose": fields.get("purpose", b"batch").decode(),
            "status": "processed",
        }
        self._files[ident] = (meta, content)
        return _json(meta)

    def _file(self, found: re.Match[str], _: Request) -> Answer:
        stored = self._files.get(found.group(1))
        return _json(stored[0]) if stored else _not_found(found.group(1))

    def _file_content(self, found: re.Match[str], _: Request) -> Answer:
        stored = self._files.get(found.group(1))
        return Answer(200, JSONL, stored[1]) if stored else _not_found(found.group(1))

    def _delete_file(self, found: re.Match[str], _: Request) -> Answer:
        ident = found.group(1)
        if self._files.pop(ident, None) is None:
            return _not_found(ident)
        return _json({"id": ident, "object": "file", "deleted": True})

    def _create_batch(self, _: re.Match[str], request: Request) -> Answer:
        payload = request.payload
        if not isinstance(payload, Mapping) or payload.get("input_file_id") not in self._files:
            raise InvalidRequest("'input_file_id' must name an uploaded file")
        batch = {
            "id": self._id("batch_fake"),
            "object": "batch",
            "endpoint": payload.get("endpoint"),
            "input_file_id": payload["input_file_id"],
            "completion_window": payload.get("completion_window", "24h"),
            "status": "validating",
            "created_at": int(time.time()),
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": payload.get("metadata"),
        }
        self._batches[batch["id"]] = batch
        return _json(batch)

    def _get_batch(self, found: re.Match[str], _: Request) -> Answer:
        batch = self._batches.get(found.group(1))
        return _json(batch) if batch else _not_found(found.group(1))

    def _cancel_batch(self, found: re.Match[str], _: Request) -> Answer:
        batch = self._batches.get(found.group(1))
        if batch is None:
            return _not_found(found.group(1))
        batch["status"] = "cancelling"
        return _json(batch)


def _transcript_events(text: str, audio_bytes: int) -> bytes:
    """A streamed transcription (``gpt-4o-transcribe`` with ``stream=true``)."""
    words = text.split(" ")
    pieces = [word if n == 0 else " " + word for n, word in enumerate(words)]
    audio_tokens = audio_bytes // 1000 + 1
    usage = {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
        "output_tokens": len(words),
        "total_tokens": audio_tokens + len(words),
    }
    events: list[dict[str, Any]] = [
        {"type": "transcript.text.delta", "delta": piece} for piece in pieces
    ]
    events.append({"type": "transcript.text.done", "text": text, "usage": usage})
    return b"".join(b"data: " + orjson.dumps(event) + b"\n\n" for event in events)


def _not_found(ident: str) -> Answer:
    message = f"No such object: '{ident}'"
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    return _json({"error": error}, 404)


def _openai_model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "openai"}


def _anthropic_model(name: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": name,
        "display_name": name,
        "created_at": "2025-05-14T00:00:00Z",
    }


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _png(prompt: str) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + hashlib.sha256(prompt.encode()).digest()


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')
_NAME = re.compile(rb'name="([^"]*)"')
_FILENAME = re.compile(rb'filename="([^"]*)"')


def _parts(request: Request) -> list[tuple[bytes, bytes]]:
    """``(headers, content)`` of each part of a multipart/form-data body."""
    found = _BOUNDARY.search(request.content_type)
    if not request.content_type.startswith("multipart/form-data") or found is None:
        raise InvalidRequest("expected a multipart/form-data body")
    delimiter = b"--" + found.group(1).encode()
    parts = []
    for chunk in request.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        parts.append((head, content.removesuffix(b"\r\n")))
    return parts


def _form_fields(request: Request) -> dict[str, bytes]:
    fields = {}
    for head, content in _parts(request):
        name = _NAME.search(head)
        if name is not None:
            fields[name.group(1).decode()] = content
    return fields


def _filename(request: Request) -> str | None:
    for head, _ in _parts(request):
        found = _FILENAME.search(head)
        if found is not None:
            return found.group(1).decode()
    return None
