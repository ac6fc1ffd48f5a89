"""Chat-style rendering of logged request and response bodies (OpenAI and Anthropic)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    text: str
    source: str
    """"request" or "response"."""


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict):
                kind = part.get("type")
                if kind in ("text", "input_text", "output_text"):
                    parts.append(str(part.get("text", "")))
                elif kind == "tool_use":
                    parts.append(
                        f"[tool call {part.get('name')}] {orjson.dumps(part.get('input')).decode()}"
                    )
                elif kind == "tool_result":
                    parts.append(f"[tool result] {_text(part.get('content'))}")
                elif kind in ("image_url", "image", "input_image"):
                    parts.append("[image]")
                else:
                    parts.append(orjson.dumps(part).decode())
            else:
                parts.append(str(part))
        return "\n".join(parts)
    return orjson.dumps(content).decode()


def _tool_calls(message: dict[str, Any]) -> str:
    calls = message.get("tool_calls")
    if not calls:
        return ""
    if not isinstance(calls, list):
        return f"[tool calls] {_json(calls)}"
    return "\n".join(_tool_call(call) for call in calls)


def _tool_call(call: Any) -> str:
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict):
        return f"[tool call] {_json(call)}"
    arguments = function.get("arguments", "")
    shown = arguments if isinstance(arguments, str) else _json(arguments)
    return f"[tool call {function.get('name')}] {shown}"


def _json(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def messages(request_body: Any, response_body: Any) -> list[Message]:
    """The conversation: the request's messages, then the response's reply."""
    out: list[Message] = []
    if isinstance(request_body, dict):
        system = request_body.get("system")
        if system:
            out.append(Message("system", _text(system), "request"))
        for message in _list(request_body.get("messages")):
            if isinstance(message, dict):
                text = _text(message.get("content"))
                calls = _tool_calls(message)
                body = "\n".join(t for t in (text, calls) if t)
                out.append(Message(str(message.get("role", "?")), body, "request"))
        if not out and isinstance(request_body.get("prompt"), str):
            out.append(Message("user", request_body["prompt"], "request"))
    if isinstance(response_body, dict):
        if isinstance(response_body.get("choices"), list):
            for choice in _list(response_body["choices"]):
                message = choice.get("message") if isinstance(choice, dict) else None
                if isinstance(message, dict):
                    text = _text(message.get("content"))
                    calls = _tool_calls(message)
                    body = "\n".join(t for t in (text, calls) if t)
                    out.append(Message(str(message.get("role", "assistant")), body, "response"))
                elif isinstance(choice, dict) and "text" in choice:
                    out.append(Message("assistant", str(choice["text"]), "response"))
        elif response_body.get("type") == "message":
            role = str(response_body.get("role", "assistant"))
            out.append(Message(role, _text(response_body.get("content")), "response"))
    return out
