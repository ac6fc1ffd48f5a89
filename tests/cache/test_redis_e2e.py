"""The Redis backend: two gateway processes share one cache; an outage costs only the cache."""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Iterator

import anthropic
import httpx
import pytest
import redis

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env, free_port

from .conftest import CACHE, chat, openai_client

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def prefix() -> Iterator[str]:
    value = f"test-{uuid.uuid4()}:"
    yield value
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{value}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(scope="module")
def replicas(
    e2e_process, tmp_path_factory, fake_server, prefix
) -> Iterator[tuple[GatewayProcess, ...]]:
    shared = tmp_path_factory.mktemp("replicas")
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": f"sqlite:///{shared}/relayscope.db",
        "RELAYSCOPE_REDIS_URL": REDIS_URL,
        "RELAYSCOPE_REDIS_PREFIX": prefix,
    }
    with (
        GatewayProcess(shared / "a", env) as first,
        GatewayProcess(shared / "b", env) as second,
    ):
        yield first, second


@pytest.fixture
def shared_org(replicas) -> OrgKey:
    return create_org(replicas[0].database_url)


def stats(process: GatewayProcess, org: OrgKey) -> dict[str, int]:
    response = httpx.get(f"{process.url}/api/cache/stats", headers=org.bearer)
    assert response.status_code == 200
    return response.json()["data"]


def test_a_response_cached_by_one_replica_is_a_hit_on_the_other(replicas, shared_org, fake):
    first, second = replicas
    with (
        openai_client(first.url, shared_org.auth) as a,
        openai_client(second.url, shared_org.auth) as b,
    ):
        original, headers = chat(
            a, "shared by replicas", extra_headers={"Cache-Control": "max-age=60"}
        )
        assert headers["helicone-cache"] == "MISS"
        replayed, headers = chat(
            b, "shared by replicas", extra_headers={"Cache-Control": "max-age=60"}
        )
    assert headers["helicone-cache"] == "HIT" and replayed.id == original.id
    assert fake.calls == 1
    record = wait_for_record(second, shared_org, headers["helicone-id"])
    assert record["cache_hit"] is True and record["cost_saved_usd"] > 0


def test_entries_carry_native_ttls_under_the_prefix(replicas, shared_org, prefix, fake):
    with openai_client(replicas[0].url, shared_org.auth) as a:
        chat(a, "ttl in redis", extra_headers={"Cache-Control": "max-age=120"})
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{prefix}cache:{{{shared_org.org_id}:*"))
        assert len(keys) == 1
        assert 110_000 < client.pttl(keys[0]) <= 120_000


def test_bucket_slots_fill_atomically_across_replicas(replicas, shared_org, prefix, fake):
    before = sum(stats(p, shared_org)["stores"] for p in replicas)
    bucket = {"Helicone-Cache-Bucket-Max-Size": "2"}
    clients = [openai_client(p.url, shared_org.auth) for p in replicas]
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [
                pool.submit(chat, clients[i % 2], "race for slots", extra_headers=bucket)
                for i in range(8)
            ]
            results = [f.result() for f in futures]
        # However many raced upstream, exactly two responses were kept...
        assert sum(stats(p, shared_org)["stores"] for p in replicas) - before == 2
        calls = fake.calls
        served = {
            chat(clients[i % 2], "race for slots", extra_headers=bucket)[0].id for i in range(10)
        }
    finally:
        for client in clients:
            client.close()
    # ...and from then on only those two are served, without the provider.
    assert fake.calls == calls
    assert served <= {completion.id for completion, _ in results}
    with redis.Redis.from_url(REDIS_URL) as client:
        slots = list(client.scan_iter(match=f"{prefix}cache:{{{shared_org.org_id}:*"))
    assert sorted(key.decode().rsplit(":", 1)[1] for key in slots) == ["0", "1"]


def test_semantic_matches_are_shared_through_redis(replicas, shared_org, fake):
    semantic = {"Helicone-Cache-Semantic": "true", "Helicone-Cache-Similarity": "0.8"}
    with (
        openai_client(replicas[0].url, shared_org.auth) as a,
        openai_client(replicas[1].url, shared_org.auth) as b,
    ):
        original, _ = chat(a, "What is the capital of France?", extra_headers=semantic)
        answer, headers = chat(b, "Tell me the capital city of France.", extra_headers=semantic)
    assert headers["helicone-cache"] == "HIT" and answer.id == original.id
    assert float(headers["helicone-cache-similarity"]) >= 0.8
    assert fake.calls == 1


def test_near_misses_are_refused_across_replicas(replicas, shared_org, fake):
    """The verification step reads the prompt stored with the entry in Redis."""
    semantic = {"Helicone-Cache-Semantic": "true", "Helicone-Cache-Similarity": "0"}
    with (
        openai_client(replicas[0].url, shared_org.auth) as a,
        openai_client(replicas[1].url, shared_org.auth) as b,
    ):
        chat(a, "Convert 5 km to miles.", extra_headers=semantic)
        answer, headers = chat(b, "Convert 5 miles to km.", extra_headers=semantic)
        assert headers["helicone-cache"] == "MISS"
        assert "5 miles to km" in answer.choices[0].message.content
        original, _ = chat(a, "How do I unclog a drain?", extra_headers=semantic)
        again, headers = chat(b, "How can I unclog a drain?", extra_headers=semantic)
        assert headers["helicone-cache"] == "HIT" and again.id == original.id
    assert fake.calls == 3


def test_anthropic_semantic_hits_and_refusals_across_replicas(replicas, shared_org, fake):
    semantic = {**CACHE, "Helicone-Cache-Semantic": "true"}

    def ask(process: GatewayProcess, text: str):
        with anthropic.Anthropic(
            base_url=f"{process.url}/anthropic",
            api_key="sk-ant-provider-secret",
            default_headers=shared_org.auth,
            max_retries=0,
        ) as claude:
            raw = claude.messages.with_raw_response.create(
                model="claude-3-5-haiku-latest",
                max_tokens=64,
                system="Be concise.",
                messages=[{"role": "user", "content": text}],
                extra_headers=semantic,
            )
            return raw.parse(), raw.headers

    first, _ = ask(replicas[0], "How do I sort a list in Python?")
    again, headers = ask(replicas[1], "How can I sort a list with Python?")
    assert headers["helicone-cache"] == "HIT" and again.id == first.id
    ask(replicas[0], "Is Python faster than Java?")
    _, headers = ask(replicas[1], "Is Java faster than Python?")
    assert headers["helicone-cache"] == "MISS"
    assert fake.calls == 3


def test_a_redis_gateway_that_cannot_match_semantically_says_so(tmp_path, fake_server, prefix):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_REDIS_URL": REDIS_URL,
        "RELAYSCOPE_REDIS_PREFIX": prefix,
        "RELAYSCOPE_CACHE_SEMANTIC": "false",
    }
    with AsgiGateway(tmp_path, env) as gateway:
        org = gateway.new_org()
        semantic = {"Helicone-Cache-Semantic": "true"}
        http = gateway.sdk_http()
        with openai_client(gateway.url, org.auth, http_client=http) as client:
            _, headers = chat(client, "What is the capital of France?", extra_headers=semantic)
            assert headers["helicone-cache-semantic"] == "unavailable"
            _, headers = chat(client, "What is the capital of France?", extra_headers=semantic)
            assert headers["helicone-cache"] == "HIT"  # exact matching still works
        record = gateway.record(org, headers["helicone-id"])
        assert record["cache_hit"] is True
        first = gateway.record(org, record["cache_source_id"])
        assert any("unavailable" in warning for warning in first["warnings"])


def test_when_redis_is_down_requests_are_served_without_the_cache(
    tmp_path, fake_server, fake, caplog
):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "RELAYSCOPE_CACHE_REDIS_RETRY_INTERVAL": "0",
    }
    with AsgiGateway(tmp_path, env) as gateway:
        org = gateway.new_org()
        with openai_client(gateway.url, org.auth, http_client=gateway.sdk_http()) as client:
            for _ in range(3):
                completion, headers = chat(client, "redis is down")
                assert "redis is down" in completion.choices[0].message.content
                assert headers["helicone-cache"] == "MISS"
        assert fake.calls == 3
        with gateway.api(org) as api:
            response = api.get("/api/cache/stats")
        assert response.status_code == 200
        assert response.json()["data"]["backend_errors"] == 3
    assert "Redis cache unavailable" in caplog.text
