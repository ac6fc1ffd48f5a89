"""Deleting a user's data deletes the user's cached responses too: memory, persisted
entries (new and legacy ones without a user id), Redis with its semantic vectors, the CLI.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from relayscope.cache.entry import CacheEntry
from relayscope.testing.orgs import OrgKey, create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.waiting import wait_until

from .conftest import chat, openai_client

REDIS_URL = "redis://127.0.0.1:6379/0"


def ask(process: GatewayProcess, org: OrgKey, user: str, content: str, **headers: str):
    with openai_client(process.url, {**org.auth, "Helicone-User-Id": user}) as client:
        completion, response_headers = chat(client, content, extra_headers=headers)
    return completion, response_headers


def delete_user(process: GatewayProcess, org: OrgKey, user: str) -> dict[str, int]:
    response = httpx.delete(f"{process.url}/api/data/users/{user}", headers=org.bearer)
    assert response.status_code == 200, response.text
    return response.json()["data"]["deleted"]


def persisted(process: GatewayProcess, org_id: str) -> list[CacheEntry]:
    db = Path(process.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT payload FROM cache_entries WHERE org_id = ?", (org_id,))
        return [CacheEntry.loads(row[0]) for row in rows]


@pytest.fixture(scope="module")
def persistent(e2e_process, tmp_path_factory, fake_server) -> Iterator[GatewayProcess]:
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_CACHE_BACKEND": "memory",
        "RELAYSCOPE_CACHE_PERSIST": "true",
    }
    with GatewayProcess(tmp_path_factory.mktemp("erase"), env) as process:
        yield process


def test_deleting_a_user_drops_their_memory_and_persisted_entries(persistent, fake):
    org = create_org(persistent.database_url)
    first, headers = ask(persistent, org, "alice", "alice's question")
    assert headers["helicone-cache"] == "MISS"
    _, headers = ask(persistent, org, "alice", "alice's question")
    assert headers["helicone-cache"] == "HIT"
    wait_for_record(persistent, org, headers["helicone-id"])
    ask(persistent, org, "bob", "bob's question")
    # The persistence writes in the background: wait until both entries are stored.
    wait_until(lambda: len(persisted(persistent, org.org_id)) == 2)

    report = delete_user(persistent, org, "alice")
    assert report == {"requests": 2, "cache_entries": 1}
    assert [entry.user_id for entry in persisted(persistent, org.org_id)] == ["bob"]

    calls = fake.calls
    again, headers = ask(persistent, org, "alice", "alice's question")
    assert headers["helicone-cache"] == "MISS" and again.id != first.id
    assert fake.calls == calls + 1
    _, headers = ask(persistent, org, "bob", "bob's question")
    assert headers["helicone-cache"] == "HIT"


def test_entries_without_a_user_id_are_found_through_their_source_request(persistent, fake):
    """Entries stored before entries carried the user id name only their source request."""
    org = create_org(persistent.database_url)
    request_id = ask(persistent, org, "carol", "carol's question")[1]["helicone-id"]
    wait_for_record(persistent, org, request_id)
    legacy = CacheEntry(200, (), b"{}", False, request_id, time.time() + 600)
    unrelated = CacheEntry(200, (), b"{}", False, "someone-else", time.time() + 600)
    db = Path(persistent.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        for name, entry in (("legacy", legacy), ("unrelated", unrelated)):
            conn.execute(
                "INSERT INTO cache_entries (slot, org_id, created_at, expires_at, size, payload)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (f"{org.org_id}:{name}:0", org.org_id, time.time(), entry.expires_at,
                 entry.size, entry.dumps()),
            )  # fmt: skip

    report = delete_user(persistent, org, "carol")
    assert report == {"requests": 1, "cache_entries": 2}  # carol's own and the legacy one
    assert [entry.source_id for entry in persisted(persistent, org.org_id)] == ["someone-else"]


@pytest.fixture
def prefix() -> Iterator[str]:
    value = f"test-{uuid.uuid4()}:"
    yield value
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{value}*"))
        if keys:
            client.delete(*keys)


def redis_entries(prefix: str, org_id: str) -> list[CacheEntry]:
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = client.scan_iter(match=f"{prefix}cache:{{{org_id}:*")
        return [CacheEntry.loads(client.get(key)) for key in keys]


def stream_slots(prefix: str, org_id: str) -> list[str]:
    with redis.Redis.from_url(REDIS_URL) as client:
        streams = client.scan_iter(match=f"{prefix}cache:sem:{org_id}:*")
        return [f[b"slot"].decode() for s in streams for _, f in client.xrange(s)]


@pytest.mark.e2e
def test_redis_entries_and_vectors_go_through_the_api_and_the_cli(
    tmp_path, fake_server, fake, prefix
):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_REDIS_URL": REDIS_URL,
        "RELAYSCOPE_REDIS_PREFIX": prefix,
    }
    with GatewayProcess(tmp_path, env) as process:
        org = create_org(process.database_url, f"erase-{uuid.uuid4().hex[:8]}")
        semantic = {"Helicone-Cache-Semantic": "true", "Helicone-Cache-Similarity": "0.8"}
        ask(process, org, "alice", "What is the capital of France?", **semantic)
        ask(process, org, "alice", "alice's exact question")
        ask(process, org, "bob", "bob's exact question")
        _, headers = ask(process, org, "bob", "bob's exact question")
        assert headers["helicone-cache"] == "HIT"
        assert sorted(e.user_id for e in redis_entries(prefix, org.org_id)) == [
            "alice", "alice", "bob"
        ]  # fmt: skip
        assert len(stream_slots(prefix, org.org_id)) == 1

        _, headers = ask(process, org, "carol", "Tell me the capital city of France.", **semantic)
        assert headers["helicone-cache"] == "HIT"  # a close question matches alice's entry

        assert delete_user(process, org, "alice") == {"requests": 2, "cache_entries": 2}
        assert [e.user_id for e in redis_entries(prefix, org.org_id)] == ["bob"]
        assert stream_slots(prefix, org.org_id) == []
        _, headers = ask(process, org, "alice", "Tell me the capital city of France.", **semantic)
        assert headers["helicone-cache"] == "MISS"

        cli = subprocess.run(
            [sys.executable, "-m", "relayscope", "data", "delete", "--org", org.name,
             "--user-id", "bob"],
            env=process.env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert "deleted 1 cache_entries" in cli.stdout and "deleted 2 requests" in cli.stdout
        assert [e.user_id for e in redis_entries(prefix, org.org_id)] == ["alice"]
        _, headers = ask(process, org, "bob", "bob's exact question")
        assert headers["helicone-cache"] == "MISS"
