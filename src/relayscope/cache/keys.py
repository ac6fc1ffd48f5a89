"""Cache keys: what makes two requests "the same" (exactly, or up to their messages)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson

from relayscope.cache.options import CacheOptions
from relayscope.context import Context

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


def semantic_partition(ctx: Context, options: CacheOptions) -> str | None:
    """Requests whose last user turns may be compared: same org, credentials, route,
    seed, and the same body apart from that turn's text (system prompt, earlier turns,
    model, tools and parameters all match exactly). None when the request has no last
    user turn made only of text."""
    data = ctx.json
    if not isinstance(data, dict):
        return None
    split = split_last_user_turn(data)
    if split is None:
        return None
    rest, _ = split
    rest = {key: value for key, value in rest.items() if key not in options.ignore_keys}
    body = orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)
    return f"{ctx.org_id}:{_digest(ctx, options, b'semantic-v2:' + body)}"


def last_user_text(ctx: Context) -> str:
    """The text of the request's last user turn; empty when it has none (or it carries
    more than text, such as an image or a tool result)."""
    data = ctx.json
    split = split_last_user_turn(data) if isinstance(data, dict) else None
    return split[1] if split is not None else ""


def split_last_user_turn(body: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """``body`` with its last user turn's content blanked, and that turn's text.

    None when there is no user turn, or when its content is not only text: then only
    the exact cache applies.
    """
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if isinstance(message, dict) and message.get("role") == "user":
            text = _text_only(message.get("content"))
            if text is None or not text.strip():
                return None
            blanked = [*messages[:i], {**message, "content": None}, *messages[i + 1 :]]
            return {**body, "messages": blanked}, text
    return None


def _text_only(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts: list[str] = []
    for item in content:
        if isinstance(item, str):
            parts.append(item)
        elif (
            isinstance(item, dict)
            and item.get("type") in ("text", "input_text")
            and isinstance(item.get("text"), str)
            and set(item) <= {"type", "text", "cache_control"}
        ):
            parts.append(item["text"])
        else:
            return None
    return "\n".join(parts)
