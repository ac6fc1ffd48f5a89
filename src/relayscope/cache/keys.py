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

CREDENTIAL_HEADERS = (b"authorization", b"x-api-key", b"api-key", b"x-goog-api-key")
"""Request headers that carry the provider credential (OpenAI, Anthropic, Azure, Google)."""

_CREDENTIAL_PERSON = b"rs-cache-cred-1"


def canonical_body(ctx: Context, drop: Iterable[str] = ()) -> bytes:
    """The body as canonical JSON (sorted keys) without the keys in ``drop``; raw if not JSON."""
    data = ctx.json
    if not isinstance(data, dict):
        return ctx.body
    dropped = frozenset(drop)
    if dropped:
        data = {key: value for key, value in data.items() if key not in dropped}
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def credential_fingerprint(ctx: Context) -> bytes:
    """Who is asking: the gateway key that authenticated the request and the provider
    credential it carries, as a digest salted with the org (raw keys are never kept)."""
    h = hashlib.blake2b(digest_size=32, salt=_org_salt(ctx.org_id), person=_CREDENTIAL_PERSON)
    _update(h, ctx.key_id.encode())
    for name, value in ctx.headers:
        if name in CREDENTIAL_HEADERS:
            _update(h, name)
            _update(h, value)
    return h.digest()


def _org_salt(org_id: str) -> bytes:
    return hashlib.blake2b(org_id.encode(), digest_size=hashlib.blake2b.SALT_SIZE).digest()


def _update(h: hashlib.blake2b, part: bytes) -> None:
    h.update(len(part).to_bytes(4, "big"))
    h.update(part)


def _digest(ctx: Context, options: CacheOptions, body: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (
        credential_fingerprint(ctx),
        ctx.target.provider_name.encode(),
        ctx.method.encode(),
        ctx.target.url.encode(),
        ctx.query,
        options.seed.encode(),
    ):
        _update(h, part)
    h.update(body)
    return h.hexdigest()


def exact_key(ctx: Context, options: CacheOptions) -> str:
    """``<org>:<digest>``: org, credentials, provider, method, URL, seed and canonical body.

    The bucket index is appended per slot (``<key>:<idx>``). Like Helicone, the provider
    credential and the gateway key are part of it: two apps with different keys never
    share an answer, even in one org.
    """
    return f"{ctx.org_id}:{_digest(ctx, options, canonical_body(ctx, options.ignore_keys))}"


def semantic_partition(ctx: Context, options: CacheOptions) -> str:
    """Requests whose messages may be compared: same org, credentials, route, seed and
    other parameters."""
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
