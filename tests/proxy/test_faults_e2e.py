"""Fault injection through real gateways: upstream resets, Redis going away and coming
back, the store refusing writes under concurrent load. Every request gets a clear
answer, and every request leaves exactly one log record.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env, free_port
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "fault line"}]}


def db_path(process: GatewayProcess) -> Path:
    return Path(process.database_url.removeprefix("sqlite:///"))


def stored(process: GatewayProcess, org_id: str) -> list[tuple[str, int, str | None, str | None]]:
    """(id, status, error, response_body) of every record of the org, one row per record."""
    with sqlite3.connect(db_path(process)) as conn:
        return conn.execute(
            "SELECT id, status, error, response_body FROM requests WHERE org_id = ?", (org_id,)
        ).fetchall()


# --- upstream resets -------------------------------------------------------------------


def test_a_stream_reset_midway_breaks_the_clients_stream_and_is_logged_once(gateway, org, fake):
    fake.enqueue(Behaviour(cut_after_chunks=3))
    received = []
    with (
        openai.OpenAI(
            base_url=f"{gateway.url}/openai/v1",
            api_key="sk-provider",
            default_headers=org.auth,
            max_retries=0,
        ) as client,
        client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "please stream a long answer"}],
            stream=True,
        ) as response,
    ):
        request_id = response.headers["helicone-id"]
        with pytest.raises((httpx.HTTPError, openai.APIError)):
            for chunk in response.parse():
                received.append(chunk)
    assert received, "the chunks before the reset reached the client"
    partial = "".join(c.choices[0].delta.content or "" for c in received if c.choices)

    record = gateway.record(org, request_id)
    assert record["error"].startswith("upstream stream broke"), record["error"]
    assert record["stream"] is True and record["status"] == 200
    assert partial and partial in str(record["response_body"])
    assert [row[0] for row in stored_by_url(gateway, org.org_id)].count(request_id) == 1
    assert fake.calls == 1


def stored_by_url(gateway, org_id: str):
    return stored(gateway.process, org_id)


def test_a_json_response_reset_midway_is_a_502_and_is_logged_once(gateway, org, fake):
    fake.enqueue(Behaviour(cut_after_chunks=0))
    response = httpx.post(
        f"{gateway.url}/openai/v1/chat/completions", headers=org.auth, json=CHAT, timeout=10
    )
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "upstream_error" and "openai" in error["message"].lower()
    request_id = response.headers["helicone-id"]
    record = gateway.record(org, request_id)
    assert record["status"] == 502 and record["error"]
    assert [row[0] for row in stored_by_url(gateway, org.org_id)].count(request_id) == 1


# --- Redis down, then back ------------------------------------------------------------


class RedisServer:
    """A private redis-server on a free port, so a test can stop it and start it again."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (apt-get install redis-server)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(self._answers, timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def _answers(self) -> bool:
        import redis

        try:
            with redis.Redis.from_url(self.url, socket_timeout=0.5) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_requests_are_served_while_redis_is_down_and_the_cache_returns_with_it(
    tmp_path, fake_server, fake, redis_server
):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_REDIS_URL": redis_server.url,
        "RELAYSCOPE_CACHE_REDIS_TIMEOUT": "0.3",
        "RELAYSCOPE_CACHE_REDIS_RETRY_INTERVAL": "0.5",
    }
    headers_base = {"Helicone-Cache-Enabled": "true", "Helicone-User-Id": "dora"}
    with GatewayProcess(tmp_path / "gw", env) as process:
        org = create_org(process.database_url)
        headers = {**org.auth, **headers_base}

        def ask() -> httpx.Response:
            response = httpx.post(
                f"{process.url}/openai/v1/chat/completions", headers=headers, json=CHAT, timeout=10
            )
            assert response.status_code == 200, response.text
            return response

        ids = [ask().headers["helicone-id"] for _ in range(2)]
        assert fake.calls == 1, "the second request was a cache hit"

        redis_server.stop()
        slowest = 0.0
        for _ in range(10):
            started = time.perf_counter()
            ids.append(ask().headers["helicone-id"])
            slowest = max(slowest, time.perf_counter() - started)
        assert fake.calls == 11, "with Redis gone, every request went to the provider"
        assert slowest < 2.0, f"a request waited {slowest:.2f}s on the missing Redis"
        # Deleting the user's data cannot reach the cache: refused, and nothing deleted.
        wait_until(lambda: len(stored(process, org.org_id)) == len(ids), timeout=10)
        refused = httpx.delete(f"{process.url}/api/data/users/dora", headers=org.bearer)
        assert refused.status_code == 503, refused.text
        assert "retry" in refused.json()["error"]["message"]
        assert len(stored(process, org.org_id)) == len(ids)

        redis_server.start()  # empty: the entries went with the old server

        def cached_again() -> bool:
            response = ask()
            ids.append(response.headers["helicone-id"])
            return response.headers["helicone-cache"] == "HIT"

        wait_until(cached_again, timeout=15, interval=0.1)
        wait_until(lambda: len(stored(process, org.org_id)) == len(ids), timeout=10)
        assert sorted(row[0] for row in stored(process, org.org_id)) == sorted(ids)
        assert "Redis cache unavailable" in process.log()
        deleted = httpx.delete(f"{process.url}/api/data/users/dora", headers=org.bearer)
        assert deleted.json()["data"]["deleted"] == {"requests": len(ids), "cache_entries": 1}


# --- the store refusing writes while requests keep coming -----------------------------


def test_store_outages_under_concurrent_load_lose_and_duplicate_nothing(tmp_path, fake_server):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_STORE_WRITE_TIMEOUT": "0.5",
        "RELAYSCOPE_LOG_BATCH_SIZE": "20",
    }
    with GatewayProcess(tmp_path, env) as process:
        org = create_org(process.database_url)
        stop = threading.Event()

        def load() -> list[str]:
            ids: list[str] = []
            with httpx.Client(base_url=process.url, headers=org.auth, timeout=10) as client:
                while not stop.is_set() and len(ids) < 5000:
                    response = client.post("/openai/v1/chat/completions", json=CHAT)
                    assert response.status_code == 200, response.text
                    ids.append(response.headers["helicone-id"])
            return ids

        spool = tmp_path / "spool"
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(load) for _ in range(4)]
            try:
                # An outage while the load runs: the store refuses every write for a while.
                blocker = sqlite3.connect(db_path(process), isolation_level=None)
                blocker.execute("BEGIN EXCLUSIVE")
                try:
                    wait_until(lambda: list(spool.glob("*.jsonl")), timeout=10)
                finally:
                    blocker.execute("ROLLBACK")
                    blocker.close()
                # Requests keep coming while the spool is replayed.
                wait_until(lambda: not list(spool.glob("*.jsonl")), timeout=15)
            finally:
                stop.set()
            sent = [request_id for future in futures for request_id in future.result()]
        assert len(sent) == len(set(sent))

        wait_until(lambda: len(stored(process, org.org_id)) >= len(sent), timeout=20)
        ids = [row[0] for row in stored(process, org.org_id)]
        assert len(ids) == len(set(ids)) == len(sent)
        assert set(ids) == set(sent)
        assert not list(spool.glob("*.jsonl"))
