"""OpenAI's audio routes: transcriptions and speech, whole or streamed.

A transcription reports token usage (``gpt-4o-transcribe``) or seconds (``whisper-1``);
streamed, its text comes in ``transcript.text.delta`` events and its usage in
``transcript.text.done``. Speech streamed as events (``stream_format: "sse"``) sends
base64 audio in ``speech.audio.delta`` events and its usage in ``speech.audio.done``:
the assembled body keeps the audio's size, not the audio.
"""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.providers.formats import openai
from relayscope.providers.formats.sse import iter_events

read_usage = openai.read_usage


def assemble_stream(raw: bytes, parsed_cls: type) -> Any:
    parsed = parsed_cls()
    text: list[str] = []
    audio_bytes = 0
    body: dict[str, Any] = {}
    for _event, data in iter_events(raw):
        payload = orjson.loads(data)
        if not isinstance(payload, dict):
            continue
        kind = payload.get("type")
        delta = payload.get("delta")
        if kind == "transcript.text.delta" and isinstance(delta, str):
            text.append(delta)
        elif kind == "speech.audio.delta" and isinstance(payload.get("audio"), str):
            audio_bytes += len(payload["audio"]) * 3 // 4
        elif kind in ("transcript.text.done", "speech.audio.done"):
            body = {k: v for k, v in payload.items() if k != "type"}
    if text and "text" not in body:
        body["text"] = "".join(text)
    if audio_bytes:
        body["audio_bytes"] = audio_bytes
    read_usage(body, parsed)
    parsed.body = body
    return parsed
