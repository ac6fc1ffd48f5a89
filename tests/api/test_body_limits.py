"""Request bodies of /api and the dashboard, in-process: read within a size limit and a
deadline, in time linear in their size, before any route runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from relayscope.api import ApiServices, create_api
from relayscope.api.nul import RefuseNul
from relayscope.auth.keys import KeyResolver
from relayscope.dashboard import create_dashboard
from relayscope.proxy.body import BodyLimits, BoundedBody
from relayscope.store.sql import SqlStore
from relayscope.types import ASGIApp

MB = 1024 * 1024
CHUNK = b"a" * (64 * 1024)


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'd.db'}")
    await store.migrate()
    yield store
    await store.close()


@dataclass
class Client:
    """Streams a request body into an ASGI app and records what the app took of it."""

    chunks: int
    chunk: bytes = CHUNK
    stall_after: int | None = None
    """Chunks after which the client goes quiet without finishing its body."""
    taken: int = 0
    answer: list[MutableMapping[str, Any]] = field(default_factory=list)

    async def receive(self) -> MutableMapping[str, Any]:
        await asyncio.sleep(0)  # as a socket would, let other tasks (and timeouts) run
        sent = self.taken // len(self.chunk)
        if self.stall_after is not None and sent >= self.stall_after:
            await asyncio.Event().wait()
        if sent >= self.chunks:
            await asyncio.Event().wait()  # the whole body was taken: only a hang-up is left
        self.taken += len(self.chunk)
        return {"type": "http.request", "body": self.chunk, "more_body": sent + 1 < self.chunks}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.answer.append(message)

    async def post(self, app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]]) -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        await asyncio.wait_for(app(scope, self.receive, self.send), timeout=20)
        return int(self.answer[0]["status"])

    def error(self) -> dict[str, Any]:
        return orjson.loads(b"".join(m.get("body", b"") for m in self.answer[1:]))["error"]


def apps(store: SqlStore, limits: BodyLimits | None = None) -> dict[str, ASGIApp]:
    extra = {} if limits is None else {"body_limits": limits}
    api = create_api(
        ApiServices(store=store, keys=KeyResolver(store.lookup_key), logs=store), **extra
    )
    return {
        "/api/redaction-rules": api,
        "/dashboard/signin": create_dashboard(store=store, api=api, **extra),
    }


@pytest.mark.parametrize("path", ["/api/redaction-rules", "/dashboard/signin"])
@pytest.mark.parametrize("declared", [True, False])
async def test_a_200_mb_body_is_refused_having_read_no_more_than_the_limit(store, path, declared):
    client = Client(chunks=200 * MB // len(CHUNK))
    headers = [(b"content-length", str(200 * MB).encode())] if declared else []
    status = await client.post(apps(store)[path], path, headers)
    assert status == 413
    assert client.error()["code"] == "payload_too_large"
    assert "1048576 bytes" in client.error()["message"]
    assert client.taken <= (0 if declared else MB + len(CHUNK))
    assert (b"connection", b"close") in client.answer[0]["headers"]


@pytest.mark.parametrize("path", ["/api/redaction-rules", "/dashboard/signin"])
async def test_a_body_that_stops_arriving_gets_408(store, path):
    app = apps(store, BodyLimits(max_bytes=MB, timeout=0.2))[path]
    client = Client(chunks=10, stall_after=3)
    started = time.monotonic()
    assert await client.post(app, path, [(b"content-length", str(10 * len(CHUNK)).encode())]) == 408
    assert client.error()["code"] == "request_timeout"
    assert 0.15 < time.monotonic() - started < 5


async def test_the_limit_and_deadline_are_settings(store):
    app = apps(store, BodyLimits(max_bytes=100_000, timeout=60))["/api/redaction-rules"]
    client = Client(chunks=2)
    assert await client.post(app, "/api/redaction-rules", []) == 413
    assert "100000 bytes" in client.error()["message"]


async def test_a_body_in_many_chunks_reaches_the_route_whole(store):
    received: list[bytes] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        received.append(message["body"])
        assert not message.get("more_body")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = BoundedBody(route, BodyLimits(max_bytes=MB, timeout=5))
    client = Client(chunks=16, chunk=b"0123456789abcdef" * 4096)
    assert await client.post(app, "/", []) == 204
    assert received == [b"0123456789abcdef" * 4096 * 16]


async def test_refuse_nul_reads_a_body_of_many_chunks_in_linear_time():
    """32 MB in 4 KB chunks: joined once it takes milliseconds; appended chunk by chunk
    it copied the growing body 8,192 times (~137 GB)."""
    sizes: list[int] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:
        total = 0
        while True:
            message = await receive()
            total += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        sizes.append(total)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = Client(chunks=32 * MB // 4096, chunk=b"{" * 4096)
    started = time.monotonic()
    assert await client.post(RefuseNul(route), "/api/x", []) == 204
    assert sizes == [32 * MB]
    assert time.monotonic() - started < 10
