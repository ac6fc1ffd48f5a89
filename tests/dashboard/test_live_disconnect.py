"""A live-tail stream ends when its client goes, whichever way the server reports
it: ASGI 2.3 servers send ``http.disconnect`` (Starlette then stops the stream);
from 2.4 the next write fails, and an idle stream writes a heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import httpx
import pytest
from starlette.requests import ClientDisconnect

from relayscope.dashboard import create_dashboard, live
from relayscope.store.sql import SqlStore


async def _run(database: Path, spec_version: str) -> tuple[list[int], int, int]:
    store = SqlStore(f"sqlite:///{database}")
    await store.migrate()
    try:
        org = await store.ensure_org("tail")
        _info, key = await store.create_key(org.id)
        app = create_dashboard(store=store, api=None)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver"
        ) as client:
            form = (await client.get("/dashboard/signin")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token is not None
            await client.post("/dashboard/signin", data={"csrf_token": token.group(1), "key": key})
            cookie = f"relayscope_session={client.cookies['relayscope_session']}"
        feed: live.NewRecords = app.state.new_records
        gone = asyncio.Event()
        listening: list[int] = []
        started: list[int] = []
        requested = False

        async def receive() -> dict[str, object]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                started.append(int(str(message["status"])))
            elif gone.is_set():
                raise OSError("the client went away")  # as an ASGI 2.4 server does
            else:
                # Leave after the stream's first query (a heartbeat follows it): one
                # cut off mid-query leaves aiosqlite closing the connection.
                listening.append(feed.listening)
                if b"idle" in bytes(message.get("body", b"")):  # type: ignore[arg-type]
                    gone.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": spec_version},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "https",
            "path": "/dashboard/requests/live",
            "raw_path": b"/dashboard/requests/live",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
            "server": ("testserver", 443),
            "client": ("127.0.0.1", 5000),
        }
        # From ASGI 2.4 Starlette ends the response by raising ClientDisconnect.
        with contextlib.suppress(ClientDisconnect):
            await asyncio.wait_for(app(scope, receive, send), timeout=10)
        return started, listening[0], feed.listening
    finally:
        await store.close()


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
def test_a_stream_ends_when_its_client_goes(tmp_path, spec_version, monkeypatch):
    monkeypatch.setattr(live, "FALLBACK_SECONDS", 0.2)
    started, while_open, after = asyncio.run(_run(tmp_path / "tail.db", spec_version))
    assert started == [200]
    assert while_open == 1, "the stream listened for its org's records"
    assert after == 0, "and stopped when the client went"
