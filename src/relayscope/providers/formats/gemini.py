"""Google's native Gemini API (``models/*:generateContent`` and ``:streamGenerateContent``).

Usage is in ``usageMetadata``: ``promptTokenCount`` (cached tokens included, as
``cachedContentTokenCount``), ``candidatesTokenCount`` and ``thoughtsTokenCount``.
Thinking tokens are billed as output, so they count in the completion tokens and are
kept apart as reasoning tokens too. The model is the reply's ``modelVersion``: the
request names it only in its path.

A stream (``alt=sse``) is a run of partial ``GenerateContentResponse`` objects: the
text of each candidate's parts is joined, and the last ``usageMetadata`` is the total.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from relayscope.providers.formats import fields
from relayscope.providers.formats.sse import iter_events


def read_usage(data: dict[str, Any], parsed: Any) -> None:
    notes = parsed.notes
    parsed.model = fields.model_name(data.get("modelVersion"), notes) or parsed.model
    usage = data.get("usageMetadata")
    if not isinstance(usage, dict):
        return

    def count(name: str) -> int | None:
        return fields.token_count(usage.get(name), f"usageMetadata.{name}", notes)

    parsed.prompt_tokens = count("promptTokenCount")
    candidates, thoughts = count("candidatesTokenCount"), count("thoughtsTokenCount")
    parsed.completion_tokens = fields.bounded_sum((candidates, thoughts), "output tokens", notes)
    parsed.reasoning_tokens = thoughts
    parsed.cache_read_tokens = count("cachedContentTokenCount")


def assemble_stream(raw: bytes, parsed_cls: type) -> Any:
    """The ``GenerateContentResponse`` a non-streaming call would have returned."""
    return assemble_chunks((orjson.loads(data) for _event, data in iter_events(raw)), parsed_cls)


def assemble_chunks(chunks: Iterable[object], parsed_cls: type) -> Any:
    """The same from chunks already parsed (``streamGenerateContent`` without
    ``alt=sse`` answers one JSON array of them)."""
    parsed = parsed_cls()
    body: dict[str, Any] = {}
    candidates: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        if not isinstance(chunk, dict):
            continue
        for key, value in chunk.items():
            if key != "candidates":
                body[key] = value
        listed = chunk.get("candidates")
        for position, candidate in enumerate(listed if isinstance(listed, list) else ()):
            if not isinstance(candidate, dict):
                continue
            index = fields.index(candidate.get("index", position))
            if index is not None:
                _merge(candidates.setdefault(index, {"index": index}), candidate)
    body["candidates"] = [candidates[i] for i in sorted(candidates)]
    read_usage(body, parsed)
    parsed.body = body
    return parsed


def _merge(target: dict[str, Any], candidate: dict[str, Any]) -> None:
    for key, value in candidate.items():
        if key != "content":
            target[key] = value
    content = candidate.get("content")
    if not isinstance(content, dict):
        return
    merged = target.setdefault("content", {"role": content.get("role", "model"), "parts": []})
    parts = merged["parts"]
    for part in content.get("parts") or ():
        if not isinstance(part, dict):
            continue
        text = fields.text(part.get("text"))
        last: dict[str, Any] = parts[-1] if parts else {}
        plain = set(part) <= {"text", "thought"} and isinstance(last.get("text"), str)
        same_kind = bool(last.get("thought")) == bool(part.get("thought"))
        if text is not None and plain and same_kind:
            last["text"] += text
        else:
            parts.append(dict(part))
