"""OpenAI Responses API ⇄ chat completions: requests, answers and streams.

A Responses request served by a provider that speaks chat completions (or, through
``requests``/``streams``, Anthropic messages) is sent as a chat request, and the
answer comes back as a ``response`` object or its event stream. What has no chat
counterpart is refused (``TranslationError`` naming the field): stored state
(``previous_response_id``, ``conversation``, ``background``, ``prompt``), built-in
tools, and input items other than messages, function calls and their outputs.
Reasoning items are left out: a chat model reasons afresh and cannot read them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import orjson

from relayscope.providers.formats.sse import EventSplitter, iter_events
from relayscope.providers.translate.requests import TranslationError

if TYPE_CHECKING:
    from relayscope.context import ByteStream

_COPIED: tuple[str, ...] = (
    "temperature",
    "top_p",
    "parallel_tool_calls",
    "user",
    "metadata",
    "store",
    "prompt_cache_key",
    "safety_identifier",
    "service_tier",
    "top_logprobs",
)
_IGNORED = frozenset({"truncation", "stream_options"})
_REFUSED = ("previous_response_id", "conversation", "background", "prompt")
_KNOWN = frozenset(
    {"model", "input", "instructions", "tools", "tool_choice", "max_output_tokens"}
    | {"stream", "text", "reasoning", "include", *_COPIED}
)
_INCLUDABLE = frozenset({"reasoning.encrypted_content", "message.output_text.logprobs"})


def responses_to_chat_request(
    body: dict[str, Any], *, model: str, stream_usage: bool
) -> dict[str, Any]:
    """The chat completions request that asks what ``body`` asks."""
    for name in _REFUSED:
        if body.get(name) is not None:
            raise TranslationError(f"Responses API field {name!r} cannot be translated")
    unknown = sorted(set(body) - _KNOWN - _IGNORED)
    if unknown:
        raise TranslationError(f"Responses API field {unknown[0]!r} cannot be translated")
    out: dict[str, Any] = {"model": model, "messages": _messages(body)}
    for name in _COPIED:
        if name in body:
            out[name] = body[name]
    if body.get("max_output_tokens") is not None:
        out["max_completion_tokens"] = body["max_output_tokens"]
    if body.get("tools"):
        out["tools"] = [_tool(tool, n) for n, tool in enumerate(_objects(body["tools"], "tools"))]
    if "tool_choice" in body:
        out["tool_choice"] = _tool_choice(body["tool_choice"])
    _text_format(body.get("text"), out)
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and reasoning.get("effort") is not None:
        out["reasoning_effort"] = reasoning["effort"]
    for item in body.get("include") or ():
        if item not in _INCLUDABLE:
            raise TranslationError(f"Responses API include {item!r} cannot be translated")
    if body.get("stream") is True:
        out["stream"] = True
        if stream_usage:
            out["stream_options"] = {"include_usage": True}
    return out


def _objects(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TranslationError(f"{name} must be a list of objects")
    return value


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    given = body.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
        return messages
    for n, item in enumerate(_objects(given, "input")):
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise TranslationError(f"input[{n}].role {role!r} cannot be translated")
            messages.append({"role": role, "content": _content(item.get("content"), n)})
        elif kind == "function_call":
            call = {
                "id": item.get("call_id"),
                "type": "function",
                "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            content = output if isinstance(output, str) else _content(output, n)
            messages.append(
                {"role": "tool", "tool_call_id": item.get("call_id"), "content": content}
            )
        elif kind != "reasoning":
            raise TranslationError(f"input[{n}].type {kind!r} cannot be translated")
    return messages


def _content(content: Any, n: int) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts: list[dict[str, Any]] = []
    for part in _objects(content, f"input[{n}].content"):
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            image: dict[str, Any] = {"url": part["image_url"]}
            if part.get("detail"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        else:
            raise TranslationError(f"input[{n}].content part {kind!r} cannot be translated")
    return parts


def _tool(tool: dict[str, Any], n: int) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise TranslationError(f"tools[{n}].type {tool.get('type')!r} cannot be translated")
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    raise TranslationError(f"tool_choice {choice!r} cannot be translated")


def _text_format(text: Any, out: dict[str, Any]) -> None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") in (None, "text"):
        return
    if fmt.get("type") == "json_object":
        out["response_format"] = {"type": "json_object"}
    elif fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        out["response_format"] = {"type": "json_schema", "json_schema": schema}
    else:
        raise TranslationError(f"text.format {fmt.get('type')!r} cannot be translated")


def chat_to_response(completion: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` as the ``response`` object the client asked for."""
    choices = completion.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else {}
    message = choice.get("message") if isinstance(choice, dict) else None
    message = message if isinstance(message, dict) else {}
    ident = str(completion.get("id") or "translated")
    output = _output(ident, message.get("content"), message.get("tool_calls"))
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    return _response(ident, completion.get("model"), output, finish, completion.get("usage"))


def _output(ident: str, text: Any, calls: Any) -> list[dict[str, Any]]:
    output: list[dict[str, Any]] = []
    if isinstance(text, str) and text:
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        output.append(
            {
                "id": f"msg_{ident}",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            }
        )
    for n, call in enumerate(calls if isinstance(calls, list) else ()):
        function = call.get("function") if isinstance(call, dict) else None
        function = function if isinstance(function, dict) else {}
        output.append(
            {
                "id": f"fc_{ident}_{n}",
                "type": "function_call",
                "status": "completed",
                "call_id": call.get("id") if isinstance(call, dict) else None,
                "name": function.get("name"),
                "arguments": function.get("arguments") or "",
            }
        )
    return output


def _response(
    ident: str, model: Any, output: list[dict[str, Any]], finish: Any, usage: Any
) -> dict[str, Any]:
    cut = finish == "length"
    return {
        "id": f"resp_{ident}",
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if cut else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": _usage(usage) if isinstance(usage, dict) else None,
    }


def _usage(usage: dict[str, Any]) -> dict[str, Any]:
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    prompt_details = usage.get("prompt_tokens_details")
    output_details = usage.get("completion_tokens_details")
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None
    reasoning = output_details.get("reasoning_tokens") if isinstance(output_details, dict) else None
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached or 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning or 0},
        "total_tokens": prompt + completion,
    }


async def chat_stream_to_responses(stream: ByteStream) -> AsyncGenerator[bytes, None]:
    """Chat completion chunks re-framed as Responses API events."""
    # A wrapper, not a stream-end callback: every chunk's bytes change on their way.
    events = EventSplitter()
    writer = _ResponseEvents()
    async with aclosing(stream):
        async for chunk in stream:
            out = b"".join(
                writer.chunk(data) for raw in events.feed(chunk) for _, data in iter_events(raw)
            )
            if out:
                yield out
        yield writer.end()


class _ResponseEvents:
    """The Responses events for a chat stream, as its chunks arrive."""

    def __init__(self) -> None:
        self.sequence = 0
        self.ident = "translated"
        self.model: Any = None
        self.started = False
        self.text: str | None = None
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish: Any = None
        self.usage: Any = None

    def _emit(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return b"event: %s\ndata: %s\n\n" % (kind.encode(), orjson.dumps(payload))

    def _index(self, call_index: int) -> int:
        return (1 if self.text is not None else 0) + sorted(self.calls).index(call_index)

    def chunk(self, data: str) -> bytes:
        if data.strip() == "[DONE]":
            return b""
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return b""
        if not isinstance(chunk, dict):
            return b""
        out = []
        if not self.started:
            self.started = True
            self.ident = str(chunk.get("id") or self.ident)
            self.model = chunk.get("model")
            opening = _response(self.ident, self.model, [], None, None)
            opening["status"] = "in_progress"
            out.append(self._emit("response.created", response=opening))
            out.append(self._emit("response.in_progress", response=opening))
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            out.extend(self._delta(delta if isinstance(delta, dict) else {}))
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
        return b"".join(out)

    def _delta(self, delta: dict[str, Any]) -> list[bytes]:
        out = []
        text = delta.get("content")
        if isinstance(text, str) and text:
            if self.text is None and not self.calls:
                self.text = ""
                item = {
                    "id": f"msg_{self.ident}",
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                }
                at = {"output_index": 0, "item_id": item["id"]}
                out.append(self._emit("response.output_item.added", output_index=0, item=item))
                part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                out.append(
                    self._emit("response.content_part.added", **at, content_index=0, part=part)
                )
            if self.text is not None:
                self.text += text
                at = {"output_index": 0, "item_id": f"msg_{self.ident}", "content_index": 0}
                out.append(self._emit("response.output_text.delta", **at, delta=text, logprobs=[]))
        for call in delta.get("tool_calls") or ():
            if not isinstance(call, dict) or not isinstance(call.get("index", 0), int):
                continue
            n = call.get("index", 0)
            function = call.get("function")
            function = function if isinstance(function, dict) else {}
            if n not in self.calls:
                self.calls[n] = {
                    "id": f"fc_{self.ident}_{n}",
                    "type": "function_call",
                    "status": "in_progress",
                    "call_id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": "",
                }
                index = self._index(n)
                item = dict(self.calls[n])
                out.append(self._emit("response.output_item.added", output_index=index, item=item))
            piece = function.get("arguments")
            if isinstance(piece, str) and piece:
                self.calls[n]["arguments"] += piece
                out.append(
                    self._emit(
                        "response.function_call_arguments.delta",
                        output_index=self._index(n),
                        item_id=self.calls[n]["id"],
                        delta=piece,
                    )
                )
        return out

    def end(self) -> bytes:
        out = []
        if not self.started:
            return b""
        if self.text is not None:
            at = {"output_index": 0, "item_id": f"msg_{self.ident}", "content_index": 0}
            part = {"type": "output_text", "text": self.text, "annotations": [], "logprobs": []}
            out.append(self._emit("response.output_text.done", **at, text=self.text, logprobs=[]))
            out.append(self._emit("response.content_part.done", **at, part=part))
        calls = [
            {"id": c["call_id"], "function": {"name": c["name"], "arguments": c["arguments"]}}
            for _, c in sorted(self.calls.items())
        ]
        output = _output(self.ident, self.text, calls)
        for index, item in enumerate(output):
            if item["type"] == "function_call":
                out.append(
                    self._emit(
                        "response.function_call_arguments.done",
                        output_index=index,
                        item_id=item["id"],
                        arguments=item["arguments"],
                    )
                )
            out.append(self._emit("response.output_item.done", output_index=index, item=item))
        final = _response(self.ident, self.model, output, self.finish, self.usage)
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        out.append(self._emit(kind, response=final))
        return b"".join(out)
