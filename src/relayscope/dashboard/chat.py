"""Chat-style rendering of logged request and response bodies.

Reads OpenAI chat completions, the Responses API, Anthropic messages, Gemini's native
API, image generations and the log's markers for audio. Each message has a kind:
``text`` (tool calls written inline, as ``[tool call name] arguments``), ``thinking``
(shown collapsed), ``tool_call`` and ``tool_result`` (Responses and Gemini items),
``image`` (a thumbnail for inline data, a link for a URL) and ``audio`` (metadata).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

TEXT, THINKING, TOOL_CALL, TOOL_RESULT, IMAGE, AUDIO = (
    "text",
    "thinking",
    "tool_call",
    "tool_result",
    "image",
    "audio",
)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
_MARKER = re.compile(r"\[RelayScope: \d+ bytes of [^\]]+ not logged\]")


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    text: str
    source: str
    """"request" or "response"."""
    kind: str = TEXT
    image: str | None = None
    """``data:`` URI of an inline image to show as a thumbnail."""
    link: str | None = None
    """An ``https`` URL the message refers to (an image the provider hosts)."""


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
                if kind in ("text", "input_text", "output_text", "summary_text"):
                    parts.append(str(part.get("text", "")))
                elif kind == "tool_use":
                    parts.append(
                        f"[tool call {part.get('name')}] {orjson.dumps(part.get('input')).decode()}"
                    )
                elif kind == "tool_result":
                    parts.append(f"[tool result] {_text(part.get('content'))}")
                elif kind in ("image_url", "image", "input_image"):
                    parts.append("[image]")
                elif kind in ("input_audio", "input_file"):
                    parts.append(f"[{kind.removeprefix('input_')}]")
                else:
                    parts.append(orjson.dumps(part).decode())
            else:
                parts.append(str(part))
        return "\n".join(parts)
    return orjson.dumps(content).decode()


def _blocks(role: str, content: Any, source: str) -> list[Message]:
    """A message's content: its thinking blocks apart (collapsed), the rest as one text."""
    if not isinstance(content, list):
        return [Message(role, _text(content), source)]
    out: list[Message] = []
    rest = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "thinking" and isinstance(part, dict):
            out.append(Message(role, str(part.get("thinking", "")), source, THINKING))
        elif kind == "redacted_thinking":
            out.append(Message(role, "[redacted thinking]", source, THINKING))
        else:
            rest.append(part)
    if rest or not out:
        out.append(Message(role, _text(rest), source))
    return out


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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def messages(request_body: Any, response_body: Any) -> list[Message]:
    """The conversation: the request's messages, then the response's reply."""
    response = _dict(response_body)
    if response.get("object") == "response":
        return _responses(_dict(request_body), response)
    if isinstance(request_body, dict) and "contents" in request_body:
        return _gemini(request_body, response)
    out = _chat_request(request_body)
    out.extend(_markers(request_body, "user", "request"))
    if response:
        out.extend(_chat_response(response))
    else:
        out.extend(_markers(response_body, "assistant", "response"))
    return out


def _chat_request(request_body: Any) -> list[Message]:
    out: list[Message] = []
    if not isinstance(request_body, dict):
        return out
    system = request_body.get("system")
    if system:
        out.append(Message("system", _text(system), "request"))
    for message in _list(request_body.get("messages")):
        if not isinstance(message, dict):
            continue
        role = str(message.get("role", "?"))
        calls = _tool_calls(message)
        blocks = _blocks(role, message.get("content"), "request")
        if calls:
            last = blocks[-1]
            text = "\n".join(t for t in (last.text, calls) if t)
            blocks[-1] = Message(role, text, "request")
        out.extend(blocks)
    if not out and isinstance(request_body.get("prompt"), str):
        out.append(Message("user", request_body["prompt"], "request"))
    return out


def _chat_response(response: dict[str, Any]) -> list[Message]:
    out: list[Message] = []
    if isinstance(response.get("choices"), list):
        for choice in _list(response["choices"]):
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict):
                text = _text(message.get("content"))
                calls = _tool_calls(message)
                body = "\n".join(t for t in (text, calls) if t)
                out.append(Message(str(message.get("role", "assistant")), body, "response"))
            elif isinstance(choice, dict) and "text" in choice:
                out.append(Message("assistant", str(choice["text"]), "response"))
    elif response.get("type") == "message":
        role = str(response.get("role", "assistant"))
        out.extend(_blocks(role, response.get("content"), "response"))
    elif "created" in response and isinstance(response.get("data"), list):
        out.extend(_images(response["data"]))
    elif isinstance(response.get("text"), str) and len(response) <= 4:
        out.append(Message("assistant", response["text"], "response"))  # a transcription
    return out


def _images(data: list[Any]) -> list[Message]:
    out = []
    for number, item in enumerate(data, 1):
        item = _dict(item)
        url, inline = item.get("url"), item.get("b64_json")
        caption = str(item.get("revised_prompt") or f"image {number}")
        if isinstance(inline, str) and _BASE64.fullmatch(inline):
            uri = f"data:{_image_type(inline)};base64,{inline}"
            out.append(Message("assistant", caption, "response", IMAGE, image=uri))
        elif isinstance(url, str) and url.startswith("https://"):
            out.append(Message("assistant", caption, "response", IMAGE, link=url))
    return out


def _image_type(b64: str) -> str:
    head = b64[:16]
    if head.startswith("/9j/"):
        return "image/jpeg"
    if head.startswith("UklGR"):
        return "image/webp"
    if head.startswith("R0lGOD"):
        return "image/gif"
    return _IMAGE_TYPES[0]


def _markers(body: Any, role: str, source: str) -> list[Message]:
    """The log's markers for bytes it did not keep (audio, files), as metadata."""
    if not isinstance(body, str):
        return []
    return [Message(role, found, source, AUDIO) for found in _MARKER.findall(body)]


def _responses(request: dict[str, Any], response: dict[str, Any]) -> list[Message]:
    out: list[Message] = []
    instructions = request.get("instructions")
    if isinstance(instructions, str) and instructions:
        out.append(Message("system", instructions, "request"))
    given = request.get("input")
    if isinstance(given, str):
        out.append(Message("user", given, "request"))
    for item in _list(given):
        out.extend(_item(_dict(item), "request"))
    for item in _list(response.get("output")):
        out.extend(_item(_dict(item), "response"))
    return out


def _item(item: dict[str, Any], source: str) -> list[Message]:
    kind = item.get("type", "message")
    if kind == "message":
        return [Message(str(item.get("role", "assistant")), _text(item.get("content")), source)]
    if kind == "reasoning":
        summary = _text(item.get("summary")) or "[encrypted reasoning]"
        return [Message("assistant", summary, source, THINKING)]
    if kind in ("function_call", "custom_tool_call"):
        arguments = item.get("arguments", item.get("input", ""))
        text = f"{item.get('name')} {_json(arguments)}"
        return [Message("assistant", text, source, TOOL_CALL)]
    if kind in ("function_call_output", "custom_tool_call_output"):
        return [Message("tool", _json(item.get("output", "")), source, TOOL_RESULT)]
    return [Message("assistant", f"[{kind}] {_json(item)}", source, TOOL_CALL)]


def _gemini(request: dict[str, Any], response: dict[str, Any]) -> list[Message]:
    out: list[Message] = []
    system = _dict(request.get("systemInstruction") or request.get("system_instruction"))
    if system:
        out.append(Message("system", _gemini_text(_list(system.get("parts"))), "request"))
    for content in _list(request.get("contents")):
        content = _dict(content)
        out.extend(_gemini_parts(content, "request"))
    for candidate in _list(response.get("candidates"))[:1]:
        out.extend(_gemini_parts(_dict(_dict(candidate).get("content")), "response"))
    return out


def _gemini_text(parts: list[Any]) -> str:
    return "\n".join(str(_dict(p).get("text", "")) for p in parts if "text" in _dict(p))


def _gemini_parts(content: dict[str, Any], source: str) -> list[Message]:
    role = "assistant" if content.get("role") == "model" else str(content.get("role", "user"))
    out: list[Message] = []
    for part in _list(content.get("parts")):
        part = _dict(part)
        if "text" in part:
            kind = THINKING if part.get("thought") else TEXT
            out.append(Message(role, str(part["text"]), source, kind))
        elif "functionCall" in part:
            call = _dict(part["functionCall"])
            text = f"{call.get('name')} {_json(call.get('args', {}))}"
            out.append(Message(role, text, source, TOOL_CALL))
        elif "functionResponse" in part:
            result = _dict(part["functionResponse"])
            text = f"{result.get('name')} {_json(result.get('response', {}))}"
            out.append(Message("tool", text, source, TOOL_RESULT))
        elif "inlineData" in part:
            data = _dict(part["inlineData"])
            mime, inline = str(data.get("mimeType", "")), data.get("data")
            if mime in _IMAGE_TYPES and isinstance(inline, str) and _BASE64.fullmatch(inline):
                uri = f"data:{mime};base64,{inline}"
                out.append(Message(role, mime, source, IMAGE, image=uri))
            else:
                size = len(inline) * 3 // 4 if isinstance(inline, str) else 0
                out.append(Message(role, f"{mime or 'data'}, about {size} bytes", source, AUDIO))
    return out
