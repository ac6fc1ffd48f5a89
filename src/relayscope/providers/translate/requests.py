"""Request bodies: OpenAI chat completions ⇄ Anthropic messages."""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson

ANTHROPIC_VERSION = "2023-06-01"

_DATA_URL = re.compile(r"^data:(?P<type>[\w/+.-]+);base64,(?P<data>.*)$", re.DOTALL)
# OpenAI fields with no Anthropic counterpart that change nothing essential when dropped.
_OPENAI_DROPPED = frozenset(
    {
        "frequency_penalty",
        "presence_penalty",
        "seed",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "response_format",
        "service_tier",
        "store",
        "stream_options",
        "parallel_tool_calls",
        "reasoning_effort",
        "metadata",
        "prediction",
        "modalities",
        "web_search_options",
        "n",
    }
)
_ANTHROPIC_DROPPED = frozenset({"top_k", "thinking", "service_tier", "container", "mcp_servers"})


class TranslationError(ValueError):
    """The request uses something the other format cannot express."""


def openai_to_anthropic_request(
    body: dict[str, Any], *, model: str, default_max_tokens: int
) -> dict[str, Any]:
    """An Anthropic messages request equivalent to an OpenAI chat completions request."""
    _check_known(body, _OPENAI_KNOWN | _OPENAI_DROPPED, "chat completions")
    if body.get("n") not in (None, 1):
        raise TranslationError("n > 1 has no Anthropic equivalent")
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for message in _list(body.get("messages"), "messages"):
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_openai_text(message.get("content")))
        elif role == "user":
            _append(messages, "user", _openai_user_blocks(message.get("content")))
        elif role == "assistant":
            _append(messages, "assistant", _openai_assistant_blocks(message))
        elif role in ("tool", "function"):
            result = {
                "type": "tool_result",
                "tool_use_id": message.get("tool_call_id") or message.get("name") or "",
                "content": _openai_text(message.get("content")),
            }
            _append(messages, "user", [result])
        else:
            raise TranslationError(f"message role {role!r} has no Anthropic equivalent")
    out: dict[str, Any] = {"model": model, "messages": messages}
    if system:
        out["system"] = "\n\n".join(text for text in system if text)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    out["max_tokens"] = limit if isinstance(limit, int) and limit > 0 else default_max_tokens
    if body.get("temperature") is not None:
        out["temperature"] = min(float(body["temperature"]), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("stream") is True:
        out["stream"] = True
    if isinstance(body.get("user"), str):
        out["metadata"] = {"user_id": body["user"]}
    if body.get("tools"):
        out["tools"] = [_anthropic_tool(tool) for tool in _list(body["tools"], "tools")]
    choice = _anthropic_tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None:
        out["tool_choice"] = choice
    return out


_OPENAI_KNOWN = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "user",
        "tools",
        "tool_choice",
    }
)


def _openai_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in _list(content, "content"):
        if part.get("type") != "text":
            raise TranslationError(f"content part {part.get('type')!r} must be text here")
        texts.append(part.get("text", ""))
    return "\n".join(texts)


def _openai_user_blocks(content: Any) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    blocks: list[dict[str, Any]] = []
    for part in _list(content, "content"):
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise TranslationError("image_url needs a url")
            blocks.append({"type": "image", "source": _image_source(url)})
        else:
            raise TranslationError(f"content part {kind!r} has no Anthropic equivalent")
    return blocks


def _image_source(url: str) -> dict[str, Any]:
    match = _DATA_URL.match(url)
    if match:
        return {"type": "base64", "media_type": match["type"], "data": match["data"]}
    return {"type": "url", "url": url}


def _openai_assistant_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    text = _openai_text(message.get("content"))
    if text:
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append(
            {
                "type": "tool_use",
                "id": call.get("id") or "",
                "name": function.get("name") or "",
                "input": _arguments(function.get("arguments")),
            }
        )
    return blocks


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise TranslationError("tool call arguments are not JSON") from None
    if not isinstance(value, dict):
        raise TranslationError("tool call arguments must be a JSON object")
    return value


def _anthropic_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise TranslationError(f"tool type {tool.get('type')!r} has no Anthropic equivalent")
    function = tool.get("function") or {}
    out: dict[str, Any] = {
        "name": function.get("name") or "",
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        out["description"] = function["description"]
    return out


def _anthropic_tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None
    if choice is None:
        out = None
    elif choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and choice.get("type") == "function":
        out = {"type": "tool", "name": (choice.get("function") or {}).get("name", "")}
    else:
        raise TranslationError(f"tool_choice {choice!r} has no Anthropic equivalent")
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


def _append(messages: list[dict[str, Any]], role: str, content: str | list[Any]) -> None:
    """Add a message; consecutive same-role messages merge (Anthropic alternates roles)."""
    if messages and messages[-1]["role"] == role:
        previous = messages[-1]["content"]
        merged = _as_blocks(previous) + _as_blocks(content)
        # Tool results must come first in a user turn.
        merged.sort(key=lambda block: block.get("type") != "tool_result")
        messages[-1]["content"] = merged
    else:
        messages.append({"role": role, "content": content})


def _as_blocks(content: str | list[Any]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content)


_OPENAI_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def anthropic_to_openai_request(
    body: dict[str, Any], *, model: str, stream_usage: bool
) -> dict[str, Any]:
    """An OpenAI chat completions request equivalent to an Anthropic messages request."""
    _check_known(body, _ANTHROPIC_KNOWN | _ANTHROPIC_DROPPED, "messages")
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _anthropic_text(system)})
    for message in _list(body.get("messages"), "messages"):
        role = message.get("role")
        if role == "user":
            messages.extend(_openai_user_messages(message.get("content")))
        elif role == "assistant":
            messages.append(_openai_assistant_message(message.get("content")))
        else:
            raise TranslationError(f"message role {role!r} has no OpenAI equivalent")
    out: dict[str, Any] = {"model": model, "messages": messages}
    if isinstance(body.get("max_tokens"), int):
        out["max_tokens"] = body["max_tokens"]
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    if body.get("stop_sequences"):
        out["stop"] = list(body["stop_sequences"])
    if body.get("stream") is True:
        out["stream"] = True
        if stream_usage:
            out["stream_options"] = {"include_usage": True}
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        out["user"] = metadata["user_id"]
    if body.get("tools"):
        out["tools"] = [_openai_tool(tool) for tool in _list(body["tools"], "tools")]
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        kind = choice.get("type")
        mapped = _OPENAI_CHOICES.get(kind) if isinstance(kind, str) else None
        if kind == "tool":
            out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
        elif mapped is not None:
            out["tool_choice"] = mapped
        else:
            raise TranslationError(f"tool_choice {kind!r} has no OpenAI equivalent")
        if choice.get("disable_parallel_tool_use") is True:
            out["parallel_tool_calls"] = False
    return out


_ANTHROPIC_KNOWN = frozenset(
    {
        "model",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "top_p",
        "stop_sequences",
        "stream",
        "metadata",
        "tools",
        "tool_choice",
    }
)


def _anthropic_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for block in _list(content, "content"):
        if block.get("type") != "text":
            raise TranslationError(f"content block {block.get('type')!r} must be text here")
        texts.append(block.get("text", ""))
    return "\n".join(texts)


def _openai_user_messages(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in _list(content, "content"):
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _image_url(block)}})
        elif kind == "tool_result":
            result = block.get("content")
            text = _anthropic_text(result) if result is not None else ""
            if block.get("is_error") is True:
                text = f"Error: {text}"
            tool_messages.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": text}
            )
        else:
            raise TranslationError(f"content block {kind!r} has no OpenAI equivalent")
    if parts:
        tool_messages.append({"role": "user", "content": parts})
    return tool_messages


def _image_url(block: dict[str, Any]) -> str:
    source = block.get("source") or {}
    url = source.get("url")
    if source.get("type") == "url" and isinstance(url, str):
        return url
    if source.get("type") == "base64":
        data = source.get("data", "")
        try:
            base64.b64decode(data, validate=True)
        except ValueError:
            raise TranslationError("image data is not base64") from None
        return f"data:{source.get('media_type', 'image/png')};base64,{data}"
    raise TranslationError(f"image source {source.get('type')!r} has no OpenAI equivalent")


def _openai_assistant_message(content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in _list(content, "content"):
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text", ""))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block.get("id", ""),
                    "type": "function",
                    "function": {
                        "name": block.get("name", ""),
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
        elif kind not in ("thinking", "redacted_thinking"):
            raise TranslationError(f"content block {kind!r} has no OpenAI equivalent")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") not in (None, "custom") or "input_schema" not in tool:
        raise TranslationError(f"tool {tool.get('name')!r} is not a client tool with a schema")
    function: dict[str, Any] = {"name": tool.get("name", ""), "parameters": tool["input_schema"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    return {"type": "function", "function": function}


def _list(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TranslationError(f"{name} must be a list of objects")
    return value


def _check_known(body: dict[str, Any], known: frozenset[str], api: str) -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise TranslationError(f"{api} field {unknown[0]!r} cannot be translated")
