"""``Server-Timing: app;dur=<ms>`` on every dashboard response: the time from the
request reaching the dashboard to its response headers, i.e. the page's queries and
rendering (a page is rendered whole before its headers go out). The browser's
devtools show it, and ``bench/dashboard.py`` times the pages by it, free of the
client's and the network's share."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from relayscope.types import ASGIApp, Receive, Scope, Send


class ServerTiming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                header = (b"server-timing", f"app;dur={elapsed_ms:.1f}".encode())
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, timed_send)
