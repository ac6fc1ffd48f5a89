"""The gateway as a server process runs it: ``create_app`` for ``uvicorn --factory``.

``relayscope serve`` runs uvicorn with this factory. The ASGI lifespan builds the
gateway (``relayscope.gateway.build_gateway``) and then tunes the process for a
long-lived server: the start-up heap is frozen out of the garbage collector's reach
and SIGTERM drains before it stops. Those are the process's, not the library's: a
gateway built in-process (tests, embedding) leaves the interpreter as it found it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
import threading
from contextlib import AsyncExitStack
from types import FrameType

from genai_prices import data_snapshot

from relayscope.config import Settings
from relayscope.gateway import Gateway, build_gateway, json_reply
from relayscope.types import Receive, Scope, Send

log = logging.getLogger("relayscope")


class ServedGateway:
    """The ASGI app a server runs: the gateway, built and stopped by the lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gateway: Gateway | None = None
        """Set once started, until shut down."""
        self._stack = AsyncExitStack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif gateway is not None:
            await gateway(scope, receive, send)
        elif scope["type"] == "http":
            await self._not_serving(scope, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.start()
                # A setting only a part can check raises SystemExit with its message;
                # escaping the lifespan, it would read to uvicorn as "no lifespan support"
                # and the server would run without a gateway.
                except (Exception, SystemExit) as exc:
                    log.error("start-up failed: %s", exc, exc_info=isinstance(exc, Exception))
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def start(self) -> None:
        gateway = await self._stack.enter_async_context(build_gateway(self.settings))
        drain_on_sigterm(gateway, self._stack)
        settle_heap()
        self.gateway = gateway

    async def stop(self) -> None:
        self.gateway = None
        await self._stack.aclose()

    async def _not_serving(self, scope: Scope, send: Send) -> None:
        if scope["path"] == "/healthz":
            await json_reply(send, 200, {"status": "ok"})
        else:
            await json_reply(send, 503, {"status": "starting", "pid": os.getpid()})


def create_app() -> ServedGateway:
    """Factory for ``uvicorn --factory``: a gateway configured from the environment."""
    return ServedGateway(Settings.from_env())


def drain_on_sigterm(gateway: Gateway, stack: AsyncExitStack) -> None:
    """On SIGTERM, answer /readyz with 503 at once, and let the server begin its
    graceful shutdown ``shutdown_drain_seconds`` later (load balancers look first).

    Wraps the handler uvicorn installed, until ``stack`` closes (each worker runs this
    in its own main thread); a second SIGTERM stops at once.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    server_handler = signal.getsignal(signal.SIGTERM)
    if not callable(server_handler):
        return
    delay = gateway.settings.shutdown_drain_seconds

    def on_sigterm(sig: int, frame: FrameType | None) -> None:
        if gateway.draining or delay <= 0:
            gateway.draining = True
            server_handler(sig, frame)
            return
        gateway.draining = True
        log.info("SIGTERM: draining for %.1fs before shutting down", delay)
        loop.call_soon_threadsafe(loop.call_later, delay, server_handler, sig, None)

    signal.signal(signal.SIGTERM, on_sigterm)
    stack.callback(signal.signal, signal.SIGTERM, server_handler)


def settle_heap() -> None:
    """Keep the garbage collector's pauses short once the gateway serves.

    Everything built at start-up lives as long as the process, yet a full collection
    walks it all: with the pricing data and the SQL metadata that took 100+ ms, the
    gateway's worst-case latency. Frozen objects are never walked again. Requests
    free almost everything by reference counting, so young collections can be rarer.
    """
    data_snapshot.get_snapshot()  # loaded lazily otherwise, by the first priced record
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)
    sys.setswitchinterval(0.0005)


_GC_THRESHOLDS = (20_000, 20, 20)
