"""Cache keys: what makes two requests "the same" (exactly, or up to their messages)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from relayscope.cache.options import CacheOptions
from relayscope.context import Context

MESSAGE_KEYS = frozenset({"messages", "system"})
"""Top-level body keys whose text a semantic match compares instead of matching exactly."""


def canonical_body(ctx: Context, drop: Iterable[str] = ()) -> bytes:
    """The body as canonical JSON (sorted keys) without the keys in ``drop``; raw if not JSON."""
    data = ctx.json
    if not isinstance(data, dict):
        return ctx.body
    dropped = frozenset(drop)
    if dropped:
        data = {key: value for key, value in data.items() if key not in dropped}
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _digest(ctx: Context, options: CacheOptions, body: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (
        ctx.target.provider_name.encode(),
        ctx.method.encode(),
        ctx.target.url.encode(),
        ctx.query,
        options.seed.encode(),
    ):
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    h.update(body)
    return h.hexdigest()


def exact_key(ctx: Context, options: CacheOptions) -> str:
    """``<org>:<digest>``: org, provider, method, URL, seed and canonical body.

    The bucket index is appended per slot (``<key>:<idx>``). Provider auth headers are
    deliberately not part of it; the org is, so orgs never share entries.
    """
    return f"{ctx.org_id}:{_digest(ctx, options, canonical_body(ctx, options.ignore_keys))}"


def semantic_partition(ctx: Context, options: CacheOptions) -> str:
    """Requests whose messages may be compared: same org, route, seed and other parameters."""
    body = canonical_body(ctx, options.ignore_keys | MESSAGE_KEYS)
    return f"{ctx.org_id}:{_digest(ctx, options, body)}"


def message_text(ctx: Context) -> str:
    """The request's messages (and Anthropic ``system``) as one text; empty if it has none."""
    data = ctx.json
    if not isinstance(data, dict):
        return ""
    parts: list[str] = []
    _collect(data.get("system"), parts)
    messages = data.get("messages")
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict):
                _collect(message.get("content"), parts)
    return "\n".join(part for part in parts if part)


def _collect(content: Any, parts: list[str]) -> None:
    if isinstance(content, str):
        parts.append(content)
    elif isinstance(content, list):
        for item in content:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                parts.append(item["text"])
            elif isinstance(item, str):
                parts.append(item)
