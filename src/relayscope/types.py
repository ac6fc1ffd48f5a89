"""The stage protocol every pipeline feature implements, and the ASGI callables' types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from relayscope.context import Context, ProxyResponse

CallNext = Callable[[Context], Awaitable[ProxyResponse]]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Stage(Protocol):
    """``async (ctx, call_next) -> ProxyResponse``, with optional lifecycle hooks.

    A stage may change ``ctx`` before calling ``call_next``, wrap or replace the
    response after it, or answer by itself without calling ``call_next`` (a cache
    hit, a 429). Stages subclass this protocol to inherit the no-op hooks and
    override those they need.
    """

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse: ...

    def applies(self, ctx: Context) -> bool:
        """Whether, cheaply, this request uses the stage; when False the pipeline skips it.

        A stage most requests do not use overrides this. It must return True whenever
        the stage has anything to check, so that a malformed header still reaches the
        stage and gets its 400.
        """
        return True

    async def start(self) -> None:
        """Called once, before the gateway serves (in pipeline order)."""
        return None

    async def aclose(self) -> None:
        """Called once, after the gateway stopped serving (in reverse pipeline order)."""
        return None
