"""Anthropic Messages wire format: JSON and named SSE events, errors."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from .conversation import (
    Reply,
    ToolCall,
    content_text,
    last_index,
    mentions_weather,
    pick_tool,
    prompt_tokens,
    reply_pieces,
    requested_model,
    require_messages,
)

_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_body(status: int, message: str) -> bytes:
    kind = _ERRORS.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


def plan_messages(payload: Any, *, default_model: str, tool_call: bool | None) -> Reply:
    messages = require_messages(payload)
    texts = [content_text(message.get("content")) for message in messages]
    system = payload.get("system")
    counted = [content_text(system), *texts] if system else texts
    source = last_index(messages, ("user",))
    pieces, truncated = reply_pieces(
        texts[source] if source is not None else "", payload.get("max_tokens")
    )
    return Reply(
        model=requested_model(payload, default_model),
        prompt_tokens=prompt_tokens(counted),
        pieces=pieces,
        truncated=truncated,
        tool_call=_tool_call(payload, messages, texts, tool_call),
    )


def _has_tool_result(content: Any) -> bool:
    return isinstance(content, list) and any(
        isinstance(block, Mapping) and block.get("type") == "tool_result" for block in content
    )


def _tool_call(
    payload: Mapping[str, Any],
    messages: list[Mapping[str, Any]],
    texts: list[str],
    override: bool | None,
) -> ToolCall | None:
    schemas = {
        tool["name"]: tool.get("input_schema")
        for tool in payload.get("tools") or ()
        if isinstance(tool, Mapping) and isinstance(tool.get("name"), str)
    }
    choice = payload.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    forced_name = choice.get("name") if isinstance(choice, Mapping) and kind == "tool" else None
    last = messages[-1] if messages else {}
    weather = (
        last.get("role") == "user"
        and not _has_tool_result(last.get("content"))
        and mentions_weather(texts[-1])
    )
    return pick_tool(
        schemas,
        override=override,
        forced=kind in ("any", "tool"),
        forced_name=forced_name,
        disabled=kind == "none",
        weather=weather,
    )


THINKING_PREFIX = "Let me think about: "


def thinking_of(payload: Any, reply: Reply) -> str | None:
    """The thinking text of a request with extended thinking on (None when off)."""
    thinking = payload.get("thinking") if isinstance(payload, Mapping) else None
    if not isinstance(thinking, Mapping) or thinking.get("type") not in ("enabled", "adaptive"):
        return None
    return THINKING_PREFIX + reply.text.removeprefix("Echo: ")


def signature_of(thinking: str) -> str:
    """A stand-in for the opaque signature Anthropic puts on a thinking block."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def cache_prefix(payload: Any) -> tuple[str, int] | None:
    """The prompt prefix up to the last ``cache_control`` breakpoint: its digest and its
    tokens (counted as ``prompt_tokens`` counts them), or None without a breakpoint."""
    if not isinstance(payload, Mapping):
        return None
    system = payload.get("system")
    messages = payload.get("messages")
    messages = messages if isinstance(messages, list) else []
    tools = payload.get("tools")
    tools = tools if isinstance(tools, list) else []
    last = None
    for index, message in enumerate(messages):
        if isinstance(message, Mapping) and _has_breakpoint(message.get("content")):
            last = index
    if last is None and not (_has_breakpoint(system) or _has_breakpoint(tools)):
        return None
    kept = messages[: last + 1] if last is not None else []
    texts = [content_text(system)] if system else []
    texts += [content_text(m.get("content")) for m in kept if isinstance(m, Mapping)]
    digest = hashlib.sha256(orjson.dumps([tools, system, kept])).hexdigest()
    return digest, prompt_tokens(texts)


def _has_breakpoint(value: Any) -> bool:
    return isinstance(value, list) and any(
        isinstance(part, Mapping) and part.get("cache_control") is not None for part in value
    )


def count_tokens_body(payload: Any) -> bytes:
    """``/v1/messages/count_tokens``: what the request's input would cost, in tokens."""
    messages = require_messages(payload)
    texts = [content_text(message.get("content")) for message in messages]
    system = payload.get("system")
    counted = [content_text(system), *texts] if system else texts
    return orjson.dumps({"input_tokens": prompt_tokens(counted)})


def _usage(
    reply: Reply, output_tokens: int, cached_tokens: int, cache_creation_tokens: int
) -> dict[str, Any]:
    return {
        "input_tokens": reply.prompt_tokens,
        "cache_creation_input_tokens": cache_creation_tokens,
        "cache_read_input_tokens": cached_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_creation_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _stop_reason(reply: Reply) -> str:
    if reply.tool_call is not None:
        return "tool_use"
    return "max_tokens" if reply.truncated else "end_turn"


def _message(
    reply: Reply, ident: int, content: list[Any], stop_reason: str | None
) -> dict[str, Any]:
    return {
        "id": f"msg_fake{ident:010d}",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
    }


def _tool_block(call: ToolCall, ident: int, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": f"toolu_fake{ident:010d}",
        "name": call.name,
        "input": arguments,
    }


def _output_tokens(reply: Reply, thinking: str | None) -> int:
    return reply.completion_tokens + (len(thinking.split()) if thinking else 0)


def message_body(
    reply: Reply,
    *,
    ident: int,
    cached_tokens: int,
    cache_creation_tokens: int,
    thinking: str | None = None,
) -> bytes:
    call = reply.tool_call
    block = (
        _tool_block(call, ident, call.arguments)
        if call is not None
        else {"type": "text", "text": reply.text}
    )
    blocks = [block]
    if thinking is not None:
        blocks.insert(
            0, {"type": "thinking", "thinking": thinking, "signature": signature_of(thinking)}
        )
    body = _message(reply, ident, blocks, _stop_reason(reply))
    output = _output_tokens(reply, thinking)
    body["usage"] = _usage(reply, output, cached_tokens, cache_creation_tokens)
    return orjson.dumps(body)


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _thinking_events(thinking: str) -> list[bytes]:
    opening = {"type": "thinking", "thinking": "", "signature": ""}
    words = thinking.split(" ")
    deltas: list[dict[str, Any]] = [
        {"type": "thinking_delta", "thinking": word if n == 0 else " " + word}
        for n, word in enumerate(words)
    ]
    deltas.append({"type": "signature_delta", "signature": signature_of(thinking)})
    start = {"type": "content_block_start", "index": 0, "content_block": opening}
    return [
        _event("content_block_start", start),
        *(
            _event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
            for d in deltas
        ),
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]


def _block_events(reply: Reply, ident: int, index: int = 0) -> list[bytes]:
    call = reply.tool_call
    if call is None:
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in reply.pieces]
    else:
        opening = _tool_block(call, ident, {})
        deltas = [
            {"type": "input_json_delta", "partial_json": fragment}
            for fragment in ["", *call.fragments()]
        ]
    start = {"type": "content_block_start", "index": index, "content_block": opening}
    return [
        _event("content_block_start", start),
        _event("ping", {"type": "ping"}),
        *(
            _event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}
            )
            for d in deltas
        ),
        _event("content_block_stop", {"type": "content_block_stop", "index": index}),
    ]


def message_events(
    reply: Reply,
    *,
    ident: int,
    cached_tokens: int,
    cache_creation_tokens: int,
    thinking: str | None = None,
) -> list[bytes]:
    """SSE events in Anthropic's order: message_start, content block, message_delta, stop."""
    started = _message(reply, ident, [], None)
    started["usage"] = _usage(reply, 1, cached_tokens, cache_creation_tokens)
    finished = {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
        "usage": {"output_tokens": _output_tokens(reply, thinking)},
    }
    blocks = _block_events(reply, ident)
    if thinking is not None:
        blocks = _thinking_events(thinking) + _block_events(reply, ident, index=1)
    return [
        _event("message_start", {"type": "message_start", "message": started}),
        *blocks,
        _event("message_delta", finished),
        _event("message_stop", {"type": "message_stop"}),
    ]
