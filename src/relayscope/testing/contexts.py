"""Pipeline contexts for driving one stage in-process, without a proxy in front, and
``respond_in_process`` to send its answer (and end the request) as the proxy does."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from relayscope.context import Context, Tags, Target
from relayscope.proxy.delivery import respond
from relayscope.types import CallNext

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


@dataclass
class Sent:
    """What the proxy sent a client for one request (``respond_in_process``)."""

    status: int | None = None
    chunks: list[bytes] = field(default_factory=list)
    """Each body message's bytes, in order (a stream's chunks, then its empty end)."""
    observed: list[object] = field(default_factory=list)
    """What ``observe`` returned as each body message was sent."""

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


async def respond_in_process(
    ctx: Context,
    pipeline: CallNext,
    *,
    observe: Callable[[], object] | None = None,
    gone_after: int | None = None,
) -> Sent:
    """Run ``ctx`` through ``pipeline`` and send the answer as the proxy does (the
    request's end callbacks included) to a client that keeps what it gets.

    ``observe`` is called as each body message is sent (to see what was done before
    it); ``gone_after``: the client's connection fails after that many body messages.
    """
    sent = Sent()

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            return
        if gone_after is not None and len(sent.chunks) >= gone_after:
            raise OSError("the client hung up")
        sent.chunks.append(message.get("body", b""))
        if observe is not None:
            sent.observed.append(observe())

    await respond(ctx, pipeline, send)
    return sent
