"""Calling the JSON API in-process on behalf of a signed-in dashboard session."""

from __future__ import annotations

from typing import Any

import orjson

from relayscope.api.auth import INTERNAL
from relayscope.auth.keys import Principal
from relayscope.proxy.app import Scope


async def get_json(app: Any, path: str, principal: Principal, query: str = "") -> tuple[int, Any]:
    """(status, decoded JSON body or None) of ``GET path?query`` on the ASGI ``app``."""
    return await call_json(app, "GET", path, principal, query=query)


async def post_json(app: Any, path: str, principal: Principal, body: object) -> tuple[int, Any]:
    """(status, decoded JSON body or None) of ``POST path`` with ``body`` as JSON."""
    return await call_json(app, "POST", path, principal, body=orjson.dumps(body))


async def call_json(
    app: Any, method: str, path: str, principal: Principal, *, query: str = "", body: bytes = b""
) -> tuple[int, Any]:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"content-type", b"application/json")] if body else [],
        "client": None,
        "server": None,
        INTERNAL: principal,
    }
    status = 500
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer = b"".join(chunks)
    try:
        return status, orjson.loads(answer) if answer else None
    except orjson.JSONDecodeError:
        return status, None


def error_message(status: int, body: Any) -> str:
    """The message of the API's OpenAI-style error, for the page to show."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", f"HTTP {status}"))
    return f"The API answered HTTP {status}"
