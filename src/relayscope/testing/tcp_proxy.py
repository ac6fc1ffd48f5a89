"""A TCP relay on loopback that a test can cut and restore, to take a server "down".

Point a gateway at the relay instead of the server (say Postgres): ``stop`` closes
the listening socket and every relayed connection, so new connections are refused
and open ones break, as when the server goes away; ``start`` listens again on the
same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from relayscope.testing.process import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = port or free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> TcpProxy:
        self._call(self._start())
        return self

    def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        self._call(self._stop())

    def close(self) -> None:
        # Every relay ends (and closes its sockets) before the loop does: a socket left
        # to the garbage collector is a ResourceWarning in whichever test runs then.
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    async def _start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._relay, "127.0.0.1", self.port, reuse_address=True
            )

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _shutdown(self) -> None:
        await self._stop()
        relays = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not relays:
            return
        # Let each relay run to its end first: a task cancelled before its first step
        # never runs its ``finally``, and would leave its accepted socket open. With
        # the listener gone and every known socket aborted, each ends at once.
        _done, pending = await asyncio.wait(relays, timeout=5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        server_w: asyncio.StreamWriter | None = None
        try:
            try:
                server_r, server_w = await asyncio.open_connection(*self.target)
            except OSError:
                return
            self._writers.add(server_w)
            if self._server is None:
                return  # stopped while this connection was being made: cut it too
            await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        finally:
            for writer in (client_w, server_w):
                if writer is not None:
                    writer.transport.abort()
                    self._writers.discard(writer)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()
