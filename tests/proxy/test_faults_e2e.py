"""Fault injection through real gateways: upstream resets, Redis going away and coming
back, the store refusing writes under concurrent load. Every request gets a clear
answer, and every request leaves exactly one log record (ids are the records' primary
key: a record logged twice would be refused by the store, so the set of stored ids is
compared with the set of answered ids, and their counts).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest
import redis

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.orgs import create_org
from relayscope.testing.outage import Outage
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.stores import stored_ids
from relayscope.testing.tcp_proxy import TcpProxy
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "fault line"}]}


# --- upstream resets -------------------------------------------------------------------


def test_a_stream_reset_midway_breaks_the_clients_stream_and_is_logged_once(gateway_process, fake):
    # The client reads the chunks before the reset as they come: a gateway process.
    gateway = gateway_process
    org = gateway.new_org()
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
    assert request_id in stored_ids(gateway.database_url, org.org_id)
    assert fake.calls == 1


def test_a_json_response_reset_midway_is_a_502_and_is_logged_once(gateway, org, fake):
    fake.enqueue(Behaviour(cut_after_chunks=0))
    response = gateway.post("/openai/v1/chat/completions", headers=org.auth, json=CHAT, timeout=10)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "upstream_error" and "openai" in error["message"].lower()
    request_id = response.headers["helicone-id"]
    record = gateway.record(org, request_id)
    assert record["status"] == 502 and record["error"]
    assert request_id in stored_ids(gateway.database_url, org.org_id)


def test_a_body_with_a_nul_byte_is_logged_and_does_not_poison_its_batch(gateway, org, fake):
    """Postgres text cannot hold NUL: the record used to fail its whole batch (and every
    replay of it), so the records around it were never stored either."""
    url = "/openai/v1/chat/completions"
    poisoned = gateway.post(
        url,
        headers=org.auth,
        content=b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a\x00b"}]}',
        timeout=10,
    )
    fine = gateway.post(url, headers=org.auth, json=CHAT, timeout=10)
    assert fine.status_code == 200
    record = gateway.record(org, poisoned.headers["helicone-id"])
    assert "a\ufffdb" in str(record["request_body"])
    gateway.record(org, fine.headers["helicone-id"])


# --- Redis down, then back ------------------------------------------------------------

REDIS = ("127.0.0.1", 6379)


@pytest.fixture
def redis_relay() -> Iterator[tuple[TcpProxy, str]]:
    """The shared Redis behind a relay the test can cut, and a prefix of this test's own."""
    relay = TcpProxy(*REDIS).start()
    prefix = f"test-{uuid.uuid4()}:"
    yield relay, prefix
    relay.close()
    with redis.Redis(*REDIS) as client:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)


def test_requests_are_served_while_redis_is_down_and_the_cache_returns_with_it(
    tmp_path, fake_server, fake, redis_relay, caplog
):
    relay, prefix = redis_relay
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_REDIS_URL": f"redis://127.0.0.1:{relay.port}/0",
        "RELAYSCOPE_REDIS_PREFIX": prefix,
        "RELAYSCOPE_CACHE_REDIS_TIMEOUT": "0.3",
        "RELAYSCOPE_CACHE_REDIS_RETRY_INTERVAL": "0.5",
    }
    with AsgiGateway(tmp_path / "gw", env) as gateway, gateway.http() as client:
        org = gateway.new_org()
        headers = {**org.auth, "Helicone-Cache-Enabled": "true", "Helicone-User-Id": "dora"}

        def ask() -> httpx.Response:
            response = client.post("/openai/v1/chat/completions", headers=headers, json=CHAT)
            assert response.status_code == 200, response.text
            return response

        ids = [ask().headers["helicone-id"] for _ in range(2)]
        assert fake.calls == 1, "the second request was a cache hit"

        relay.stop()
        slowest = 0.0
        for _ in range(10):
            started = time.perf_counter()
            response = ask()
            ids.append(response.headers["helicone-id"])
            assert response.headers["helicone-cache"] == "MISS"
            slowest = max(slowest, time.perf_counter() - started)
        assert fake.calls == 11, "with Redis gone, every request went to the provider"
        assert slowest < 2.0, f"a request waited {slowest:.2f}s on the missing Redis"
        # Deleting the user's data cannot reach the cache: refused, and nothing deleted.
        wait_until(lambda: len(stored_ids(gateway.database_url, org.org_id)) == len(ids))
        refused = client.delete("/api/data/users/dora", headers=org.bearer)
        assert refused.status_code == 503, refused.text
        assert "retry" in refused.json()["error"]["message"]
        assert len(stored_ids(gateway.database_url, org.org_id)) == len(ids)

        relay.start()  # the entry stored before the outage is still there

        def cached_again() -> bool:
            response = ask()
            ids.append(response.headers["helicone-id"])
            return response.headers["helicone-cache"] == "HIT"

        wait_until(cached_again, timeout=15, interval=0.1)
        wait_until(lambda: stored_ids(gateway.database_url, org.org_id) == set(ids))
        assert "Redis cache unavailable" in caplog.text
        deleted = client.delete("/api/data/users/dora", headers=org.bearer)
        assert deleted.json()["data"]["deleted"] == {"requests": len(ids), "cache_entries": 1}


# --- the store refusing writes while requests keep coming -----------------------------


@pytest.fixture
def outage(store_url: str) -> Iterator[Outage]:
    outage = Outage(store_url)
    yield outage
    outage.close()


@pytest.mark.e2e
def test_store_outage_under_concurrent_load_loses_and_doubles_nothing(
    tmp_path, fake_server, outage
):
    """Every answered Helicone-Id is stored; and since the ids are unique keys, the
    check that can fail for duplicates is on what the inserts compute: the rollups
    behind the summary (a write that timed out yet committed is spooled and replayed)
    and the explorer's paging must each count every request once."""
    started = datetime.now(UTC)
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": outage.gateway_url,
        "RELAYSCOPE_STORE_WRITE_TIMEOUT": "0.5",
        "RELAYSCOPE_LOG_BATCH_SIZE": "20",
    }
    with GatewayProcess(tmp_path, env) as process:
        org = create_org(outage.store_url)
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
                # Once the load runs (and the gateway knows the key: during an outage an
                # unknown key is a 503), the store refuses every write for a while.
                wait_until(lambda: len(stored_ids(outage.store_url, org.org_id)) >= 20)
                outage.down()
                try:
                    wait_until(lambda: list(spool.glob("*.jsonl")), timeout=10)
                finally:
                    outage.up()
                # Requests keep coming while the spool is replayed.
                wait_until(lambda: not list(spool.glob("*.jsonl")), timeout=40)
            finally:
                stop.set()
            sent = [request_id for future in futures for request_id in future.result()]
        assert len(sent) == len(set(sent))

        wait_until(lambda: stored_ids(outage.store_url, org.org_id) == set(sent), timeout=40)
        assert not list(spool.glob("*.jsonl"))
        hour = started.replace(minute=0, second=0, microsecond=0)
        whole_hours = {"from": _iso(hour), "to": _iso(hour + timedelta(hours=2))}
        with httpx.Client(base_url=process.url, headers=org.bearer, timeout=30) as api:
            summary = api.get("/api/analytics/summary", params=whole_hours).json()["data"]
            assert summary["requests"] == len(sent), "a replayed batch counted twice"
            users = api.get("/api/analytics/summary", params={"user_id": "nobody"}).json()
            assert users["data"]["requests"] == 0
            listed: list[str] = []
            cursor = None
            while True:
                params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
                page = api.get("/api/requests", params=params).json()
                listed += [r["id"] for r in page["data"]]
                cursor = page["next_cursor"]
                if not cursor:
                    break
        assert len(listed) == len(set(listed)) == len(sent)
        assert set(listed) == set(sent)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
