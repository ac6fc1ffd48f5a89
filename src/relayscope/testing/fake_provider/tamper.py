"""Replies that misreport: usage counts and reply fields replaced by whatever a test chose.

Real providers have answered with token counts as strings, as floats or as
``2**64 - 1``, and with a model that is not a string. ``x-fake-usage`` and
``x-fake-fields`` (JSON objects) make the fake answer the same way, in every
place its wire format carries them: the JSON body, and each stream event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

_SSE_DATA = b"data: "


def tamper_body(body: bytes, usage: Mapping[str, Any], fields: Mapping[str, Any]) -> bytes:
    return orjson.dumps(_tampered(orjson.loads(body), usage, fields))


def tamper_events(
    events: list[bytes], usage: Mapping[str, Any], fields: Mapping[str, Any]
) -> list[bytes]:
    return [_tamper_event(event, usage, fields) for event in events]


def _tamper_event(event: bytes, usage: Mapping[str, Any], fields: Mapping[str, Any]) -> bytes:
    head, found, rest = event.partition(_SSE_DATA)
    data = rest.removesuffix(b"\n\n")
    if not found or data == b"[DONE]":
        return event
    return head + _SSE_DATA + orjson.dumps(_tampered(orjson.loads(data), usage, fields)) + b"\n\n"


def _tampered(obj: Any, usage: Mapping[str, Any], fields: Mapping[str, Any]) -> Any:
    if not isinstance(obj, dict):
        return obj
    if isinstance(obj.get("usage"), dict):
        obj["usage"] = {**obj["usage"], **usage}
    if "model" in obj:
        obj.update(fields)
    if isinstance(obj.get("message"), dict):  # Anthropic's message_start event
        obj["message"] = _tampered(obj["message"], usage, fields)
    return obj
