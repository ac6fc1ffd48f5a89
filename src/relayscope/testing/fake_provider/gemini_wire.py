"""Google's native Gemini API: ``models/{model}:generateContent`` and
``:streamGenerateContent`` (SSE with ``alt=sse``, else one JSON array).

The reply echoes the last user text. ``generationConfig.thinkingConfig`` with
``includeThoughts`` adds a thought part first and ``thoughtsTokenCount``; a
``functionDeclarations`` tool is called when the last user text mentions weather
(or ``toolConfig`` forces it, mode ``ANY``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .conversation import (
    InvalidRequest,
    Reply,
    content_text,
    mentions_weather,
    pick_tool,
    prompt_tokens,
    reply_pieces,
)

THOUGHT_TOKENS = 9
THOUGHT_TEXT = "**Echoing** I will repeat the user's words."


def model_of(path: str) -> str:
    """The model a path names: ``.../models/{model}:method``."""
    _, _, rest = path.rpartition("/models/")
    return rest.split(":", 1)[0] or "gemini-fake"


def error_body(status: int, message: str) -> bytes:
    names = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
    return orjson.dumps(
        {"error": {"code": status, "message": message, "status": names.get(status, "INTERNAL")}}
    )


def plan(payload: Any, model: str, tool_call: bool | None) -> tuple[Reply, bool]:
    """The reply, and whether it thinks aloud (``includeThoughts``)."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("contents"), list):
        raise InvalidRequest("'contents' must be a list of content objects")
    contents = [c for c in payload["contents"] if isinstance(c, Mapping)]
    texts = [content_text(content.get("parts")) for content in contents]
    system = _object(payload, "systemInstruction")
    counted = [*texts, content_text(system.get("parts"))] if system else texts
    source = next(
        (texts[i] for i in range(len(contents) - 1, -1, -1) if contents[i].get("role") != "model"),
        "",
    )
    config = _object(payload, "generationConfig")
    pieces, truncated = reply_pieces(source, _field(config, "maxOutputTokens"))
    thoughts = _field(_object(config, "thinkingConfig"), "includeThoughts") is True
    schemas = {
        declaration["name"]: declaration.get("parameters")
        for tool in payload.get("tools") or ()
        if isinstance(tool, Mapping)
        for declaration in _field(tool, "functionDeclarations") or ()
        if isinstance(declaration, Mapping) and isinstance(declaration.get("name"), str)
    }
    mode = _object(_object(payload, "toolConfig"), "functionCallingConfig").get("mode")
    call = pick_tool(
        schemas,
        override=tool_call,
        forced=mode == "ANY",
        forced_name=None,
        disabled=mode == "NONE",
        weather=mentions_weather(source),
    )
    reply = Reply(
        model=model,
        prompt_tokens=prompt_tokens(counted),
        pieces=pieces,
        truncated=truncated,
        tool_call=call,
    )
    return reply, thoughts


def _field(value: Any, camel: str) -> Any:
    """``value[camel]``, or its snake_case spelling: the API takes both, and the Python
    SDK sends some nested fields in snake_case."""
    if not isinstance(value, Mapping):
        return None
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return value.get(camel, value.get(snake))


def _object(value: Any, camel: str) -> Mapping[str, Any]:
    found = _field(value, camel)
    return found if isinstance(found, Mapping) else {}


def _usage(reply: Reply, thoughts: bool, cached_tokens: int) -> dict[str, Any]:
    prompt = reply.prompt_tokens + cached_tokens
    usage: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": reply.completion_tokens,
        "totalTokenCount": prompt + reply.completion_tokens + (THOUGHT_TOKENS if thoughts else 0),
    }
    if thoughts:
        usage["thoughtsTokenCount"] = THOUGHT_TOKENS
    if cached_tokens:
        usage["cachedContentTokenCount"] = cached_tokens
    return usage


def _finish(reply: Reply) -> str:
    return "MAX_TOKENS" if reply.truncated and reply.tool_call is None else "STOP"


def _chunk(
    reply: Reply, ident: int, parts: list[dict[str, Any]], finish: str | None, usage: Any
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": reply.model,
        "responseId": f"resp-fake{ident:010d}",
    }


def _parts(reply: Reply, thoughts: bool) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = [{"text": THOUGHT_TEXT, "thought": True}] if thoughts else []
    if reply.tool_call is not None:
        call = reply.tool_call
        parts.append({"functionCall": {"name": call.name, "args": call.arguments}})
    else:
        parts.append({"text": reply.text})
    return parts


def content_body(reply: Reply, thoughts: bool, *, ident: int, cached_tokens: int) -> bytes:
    usage = _usage(reply, thoughts, cached_tokens)
    return orjson.dumps(_chunk(reply, ident, _parts(reply, thoughts), _finish(reply), usage))


def stream_chunks(
    reply: Reply, thoughts: bool, *, ident: int, cached_tokens: int
) -> list[dict[str, Any]]:
    """One chunk per word (a thought and a function call come whole), usage in each;
    the last has the finish reason and the final counts."""
    usage = _usage(reply, thoughts, cached_tokens)
    partial = {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": 0}
    pieces: list[dict[str, Any]] = []
    if thoughts:
        pieces.append({"text": THOUGHT_TEXT, "thought": True})
    if reply.tool_call is not None:
        pieces.extend(_parts(reply, False))
    else:
        pieces.extend({"text": piece} for piece in reply.pieces)
    chunks = [_chunk(reply, ident, [piece], None, partial) for piece in pieces[:-1]]
    chunks.append(_chunk(reply, ident, pieces[-1:], _finish(reply), usage))
    return chunks


def sse_events(chunks: list[dict[str, Any]]) -> list[bytes]:
    return [b"data: " + orjson.dumps(chunk) + b"\r\n\r\n" for chunk in chunks]
