"""Serving the fake with uvicorn: in a background thread (tests) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .app import TRANSPORT_EXTENSION, DeliberateAbort, FakeProviderApp, RecordedRequest, RequestLog
from .behaviour import Behaviour

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 10.0


class _HideDeliberateAborts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DeliberateAbort))


_server_logger = logging.getLogger("uvicorn.error.fake_provider")
_server_logger.setLevel(logging.INFO)
_server_logger.addFilter(_HideDeliberateAborts())


class FakeHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus what the fake needs and ASGI cannot express.

    It lets the app close the connection before any response (``drop_connection``),
    keeps deliberate aborts out of the error log, and never writes access logs,
    all without touching uvicorn's global logging configuration.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.logger = _server_logger
        self.access_log = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {TRANSPORT_EXTENSION: {"close": self.transport.close}}


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket; with port 0 the OS picks a free port, race-free."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def uvicorn_config(app: FakeProviderApp, **overrides: object) -> uvicorn.Config:
    options: dict[str, object] = {
        "lifespan": "off",
        "http": FakeHttpProtocol,
        "loop": "uvloop" if event_loop_factory() else "asyncio",
        "log_config": None,
        "proxy_headers": False,
        "server_header": False,
        "timeout_graceful_shutdown": 2,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)  # type: ignore[arg-type]


class _ThreadServer(uvicorn.Server):
    """A uvicorn server whose main loop can be woken from another thread to stop at once."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None

    def run_in_thread(self, sock: socket.socket) -> None:
        try:
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                runner.run(self.serve(sockets=[sock]))
        except BaseException as exc:  # uvicorn reports startup failures as SystemExit
            self.failure = exc
        finally:
            sock.close()
            self.ready.set()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        assert self._wakeup is not None
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), 0.1)

    def request_exit(self, on_loop: Callable[[], None]) -> None:
        self.should_exit = True
        if self._loop is not None and self._wakeup is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(on_loop)
                self._loop.call_soon_threadsafe(self._wakeup.set)


class FakeProvider:
    """The fake provider on 127.0.0.1, served by uvicorn in a background thread.

    Use as a context manager, or call ``start()``/``stop()``. Script behaviour with
    ``enqueue``/``set_default``; inspect traffic with ``requests``/``calls``/``wait_for_calls``.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, chunk_delay_s: float = 0.0):
        self._host = host
        self._requested_port = port
        self._chunk_delay_s = chunk_delay_s
        self._log = RequestLog()
        self._app: FakeProviderApp | None = None
        self._server: _ThreadServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeProvider has not been started")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received since the last reset, oldest first."""
        return self._log.requests

    @property
    def calls(self) -> int:
        return self._log.calls

    def enqueue(self, *behaviours: Behaviour) -> None:
        """Queue behaviours, consumed one per incoming request (FIFO)."""
        self._log.enqueue(*behaviours)

    def set_default(self, behaviour: Behaviour) -> None:
        """Behaviour for every request that finds the queue empty, until ``reset()``."""
        self._log.set_default(behaviour)

    @property
    def abandoned_streams(self) -> int:
        """Streams (with a chunk delay) whose client disconnected before the end."""
        return self._log.abandoned_streams

    @property
    def streamed_bytes(self) -> int:
        """Bytes of stream events sent so far (since the last ``reset``)."""
        return self._log.streamed_bytes

    def reset(self) -> None:
        """Forget recorded requests, queued behaviours and the default behaviour."""
        self._log.reset()

    def wait_for_calls(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` requests were received; False on timeout."""
        return self._log.wait_for_calls(count, timeout)

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("FakeProvider is already running")
        sock = bind_socket(self._host, self._requested_port)
        port = sock.getsockname()[1]
        app = FakeProviderApp(self._log, chunk_delay_s=self._chunk_delay_s)
        server = _ThreadServer(uvicorn_config(app))
        thread = threading.Thread(
            target=server.run_in_thread, args=(sock,), name=f"fake-provider:{port}", daemon=True
        )
        thread.start()
        if not server.ready.wait(_START_TIMEOUT_S) or server.failure is not None:
            server.request_exit(app.close)
            thread.join(_STOP_TIMEOUT_S)
            raise RuntimeError("fake provider failed to start") from server.failure
        self._app, self._server, self._thread, self._port = app, server, thread, port
        return self

    def stop(self) -> None:
        """Stop serving and join the server thread; in-flight delays are aborted."""
        app, server, thread = self._app, self._server, self._thread
        if app is None or server is None or thread is None:
            return
        server.request_exit(app.close)
        thread.join(_STOP_TIMEOUT_S)
        if thread.is_alive():
            raise RuntimeError("fake provider thread did not stop")
        self._app = self._server = self._thread = None
        if server.failure is not None:
            raise RuntimeError("fake provider server crashed") from server.failure

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
