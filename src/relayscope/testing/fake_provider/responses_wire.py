"""OpenAI Responses API wire format: ``response`` objects and their event streams.

The reply echoes the last user input (or function call output), like the chat
route. A request with ``reasoning`` gets a reasoning item first (with a summary
when one is asked for) and ``REASONING_TOKENS`` reasoning tokens; a request whose
tools match (or whose ``tool_choice`` forces one) gets a ``function_call`` item.
A ``previous_response_id`` must name a response this fake made: its input and
output count as input again, as they do upstream.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
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
    requested_model,
)

REASONING_TOKENS = 12
SUMMARY_TEXT = "Considering how to echo the input."


@dataclass(frozen=True, slots=True)
class Plan:
    reply: Reply
    reasoning: bool
    summary: bool
    previous_tokens: int
    """Input plus output tokens of the ``previous_response_id`` chain."""


def plan_response(
    payload: Any,
    *,
    default_model: str,
    tool_call: bool | None,
    previous: Mapping[str, Any] | None,
) -> Plan:
    if not isinstance(payload, Mapping):
        raise InvalidRequest("request body must be a JSON object")
    items = _input_items(payload.get("input"))
    instructions = payload.get("instructions")
    texts = [instructions] if isinstance(instructions, str) else []
    source = ""
    for item in items:
        text = _item_text(item)
        texts.append(text)
        if item.get("role") == "user" or item.get("type") == "function_call_output":
            source = text
    pieces, truncated = reply_pieces(source, payload.get("max_output_tokens"))
    reasoning = payload.get("reasoning")
    previous_tokens = 0
    if previous is not None:
        usage = previous.get("usage") or {}
        previous_tokens = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    reply = Reply(
        model=requested_model(payload, default_model),
        prompt_tokens=prompt_tokens(texts),
        pieces=pieces,
        truncated=truncated,
        tool_call=_tool_call(payload, items, source, tool_call),
    )
    return Plan(
        reply=reply,
        reasoning=isinstance(reasoning, Mapping),
        summary=isinstance(reasoning, Mapping) and reasoning.get("summary") is not None,
        previous_tokens=previous_tokens,
    )


def _input_items(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and all(isinstance(item, Mapping) for item in value):
        return value
    raise InvalidRequest("'input' must be a string or a list of input items")


def _item_text(item: Mapping[str, Any]) -> str:
    if item.get("type") == "function_call_output":
        output = item.get("output")
        return output if isinstance(output, str) else content_text(output)
    return content_text(item.get("content"))


def _tool_call(
    payload: Mapping[str, Any], items: list[Mapping[str, Any]], source: str, override: bool | None
) -> Any:
    schemas = {
        tool["name"]: tool.get("parameters")
        for tool in payload.get("tools") or ()
        if isinstance(tool, Mapping) and tool.get("type") == "function"
        if isinstance(tool.get("name"), str)
    }
    choice = payload.get("tool_choice")
    forced_name = choice.get("name") if isinstance(choice, Mapping) else None
    last_is_user = bool(items) and items[-1].get("role") == "user"
    return pick_tool(
        schemas,
        override=override,
        forced=choice == "required" or forced_name is not None,
        forced_name=forced_name,
        disabled=choice == "none",
        weather=last_is_user and mentions_weather(source),
    )


def _ids(ident: int) -> dict[str, str]:
    return {
        "response": f"resp_fake{ident:010d}",
        "message": f"msg_fake{ident:010d}",
        "reasoning": f"rs_fake{ident:010d}",
        "call": f"fc_fake{ident:010d}",
        "call_id": f"call_fake{ident:010d}",
    }


def _usage(plan: Plan, cached_tokens: int) -> dict[str, Any]:
    reasoning = REASONING_TOKENS if plan.reasoning else 0
    inputs = plan.reply.prompt_tokens + plan.previous_tokens + cached_tokens
    outputs = plan.reply.completion_tokens + reasoning
    return {
        "input_tokens": inputs,
        "input_tokens_details": {"cached_tokens": cached_tokens},
        "output_tokens": outputs,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": inputs + outputs,
    }


def _items(plan: Plan, ident: int) -> list[dict[str, Any]]:
    ids = _ids(ident)
    items: list[dict[str, Any]] = []
    if plan.reasoning:
        summary = [{"type": "summary_text", "text": SUMMARY_TEXT}] if plan.summary else []
        items.append({"id": ids["reasoning"], "type": "reasoning", "summary": summary})
    call = plan.reply.tool_call
    if call is not None:
        items.append(
            {
                "id": ids["call"],
                "type": "function_call",
                "status": "completed",
                "call_id": ids["call_id"],
                "name": call.name,
                "arguments": call.arguments_json,
            }
        )
        return items
    part = {"type": "output_text", "text": plan.reply.text, "annotations": [], "logprobs": []}
    items.append(
        {
            "id": ids["message"],
            "type": "message",
            "status": "incomplete" if plan.reply.truncated else "completed",
            "role": "assistant",
            "content": [part],
        }
    )
    return items


def response_object(
    plan: Plan, payload: Mapping[str, Any], *, ident: int, cached_tokens: int
) -> dict[str, Any]:
    """The ``response`` a non-streaming call returns (and ``response.completed`` carries)."""
    truncated = plan.reply.truncated and plan.reply.tool_call is None
    reasoning = payload.get("reasoning")
    return {
        "id": _ids(ident)["response"],
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if truncated else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
        "instructions": payload.get("instructions"),
        "max_output_tokens": payload.get("max_output_tokens"),
        "model": plan.reply.model,
        "output": _items(plan, ident),
        "parallel_tool_calls": True,
        "previous_response_id": payload.get("previous_response_id"),
        "reasoning": reasoning if isinstance(reasoning, Mapping) else {"effort": None},
        "store": payload.get("store", True) is not False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": payload.get("tools") or [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": _usage(plan, cached_tokens),
        "metadata": payload.get("metadata") or {},
    }


def response_events(response: dict[str, Any]) -> list[bytes]:
    """The SSE events OpenAI streams for ``response``, each with its ``sequence_number``."""
    events: list[dict[str, Any]] = []
    opening = {**response, "status": "in_progress", "output": [], "usage": None}
    opening["incomplete_details"] = None
    events.append({"type": "response.created", "response": opening})
    events.append({"type": "response.in_progress", "response": opening})
    for index, item in enumerate(response["output"]):
        events.extend(_item_events(index, item))
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    events.append({"type": final, "response": response})
    return [_sse({**event, "sequence_number": n}) for n, event in enumerate(events)]


def _sse(event: dict[str, Any]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (event["type"].encode(), orjson.dumps(event))


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    at = {"output_index": index, "item_id": item["id"]}
    kind = item["type"]
    if kind == "reasoning":
        added = {**item, "summary": []}
        events = [{"type": "response.output_item.added", "output_index": index, "item": added}]
        for n, part in enumerate(item["summary"]):
            empty = {"type": "summary_text", "text": ""}
            here = {**at, "summary_index": n}
            events.append({"type": "response.reasoning_summary_part.added", **here, "part": empty})
            for piece in _pieces(part["text"]):
                events.append(
                    {"type": "response.reasoning_summary_text.delta", **here, "delta": piece}
                )
            events.append(
                {"type": "response.reasoning_summary_text.done", **here, "text": part["text"]}
            )
            events.append({"type": "response.reasoning_summary_part.done", **here, "part": part})
    elif kind == "function_call":
        added = {**item, "arguments": "", "status": "in_progress"}
        events = [{"type": "response.output_item.added", "output_index": index, "item": added}]
        for piece in _fragments(item["arguments"]):
            events.append({"type": "response.function_call_arguments.delta", **at, "delta": piece})
        events.append(
            {"type": "response.function_call_arguments.done", **at, "arguments": item["arguments"]}
        )
    else:
        added = {**item, "content": [], "status": "in_progress"}
        events = [{"type": "response.output_item.added", "output_index": index, "item": added}]
        for n, part in enumerate(item["content"]):
            here = {**at, "content_index": n}
            empty = {**part, "text": ""}
            events.append({"type": "response.content_part.added", **here, "part": empty})
            for piece in _pieces(part["text"]):
                events.append(
                    {"type": "response.output_text.delta", **here, "delta": piece, "logprobs": []}
                )
            events.append(
                {"type": "response.output_text.done", **here, "text": part["text"], "logprobs": []}
            )
            events.append({"type": "response.content_part.done", **here, "part": part})
    events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    return events


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    return [word if n == 0 else " " + word for n, word in enumerate(words)]


def _fragments(text: str, step: int = 4) -> list[str]:
    return [text[start : start + step] for start in range(0, len(text), step)]


def deleted_body(response_id: str) -> bytes:
    return orjson.dumps({"id": response_id, "object": "response", "deleted": True})
