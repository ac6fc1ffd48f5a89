"""Pipeline contexts for driving one stage in-process, without a proxy in front."""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.context import Context, Tags, Target

CHAT_PATH = "/openai/v1/chat/completions"
UPSTREAM = Target(None, "http://upstream/v1/chat/completions", "openai", "openai")


def chat_context(
    helicone: dict[str, str] | None = None,
    body: dict[str, Any] | bytes | None = None,
    **fields: Any,
) -> Context:
    """An OpenAI chat request as the proxy hands it to the first stage.

    ``helicone`` holds the ``Helicone-*`` headers by lower-case name; ``fields``
    override any other ``Context`` field (``target``, ``tags``, ``request_id``...).
    """
    if body is None:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    values: dict[str, Any] = {
        "request_id": "r",
        "org_id": "org",
        "key_id": "key",
        "method": "POST",
        "path": CHAT_PATH,
        "query": b"",
        "target": UPSTREAM,
        "headers": [],
        "helicone": helicone or {},
        "client_body": raw,
        "body": raw,
        "tags": Tags(),
    }
    values.update(fields)
    return Context(**values)
