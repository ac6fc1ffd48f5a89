"""Helicone's cache-header semantics, with the real openai and anthropic SDKs driving an
in-process gateway (ASGI) in front of the fake provider, on the memory backend (persisted
to the store's cache_entries table) and on the Redis backend."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import anthropic
import httpx
import httpx2
import openai
import pytest
import redis
from sqlalchemy import select

from relayscope.config import Settings
from relayscope.proxy.app import ProxyApp
from relayscope.store.schema import cache_entries
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.inprocess import InProcessGateway
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import async_wait_until

REDIS_URL = "redis://127.0.0.1:6379/0"
APP_ONE_KEY = "sk-app-one-secret-key-0123456789abcdef"
APP_TWO_KEY = "sk-app-two-secret-key-fedcba9876543210"
ANTHROPIC_ONE_KEY = "sk-ant-app-one-secret-key-0123456789"
ANTHROPIC_TWO_KEY = "sk-ant-app-two-secret-key-9876543210"
CACHE = {"Helicone-Cache-Enabled": "true"}


@dataclass
class Deployment:
    gateway: InProcessGateway
    backend: str
    redis_prefix: str
    gateway_keys: list[str]
    """Every gateway key secret handed out in this test."""

    @property
    def app(self) -> ProxyApp:
        return self.gateway.gateway.proxy

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))

    def http2(self) -> httpx2.AsyncClient:
        """The anthropic SDK brings its own fork of httpx."""
        return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=self.app))

    def openai(self, api_key: str, auth: str | None = None) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            base_url="http://gateway/openai/v1",
            api_key=api_key,
            default_headers={"Helicone-Auth": auth or self.gateway.auth},
            max_retries=0,
            http_client=self.http(),
        )

    def anthropic(self, api_key: str, auth: str | None = None) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            base_url="http://gateway/anthropic",
            api_key=api_key,
            default_headers={"Helicone-Auth": auth or self.gateway.auth},
            max_retries=0,
            http_client=self.http2(),
        )

    async def second_gateway_key(self) -> str:
        _info, key = await self.gateway.gateway.store.create_key(self.gateway.org_id)
        self.gateway_keys.append(key)
        return f"Bearer {key}"


@pytest.fixture
def fake_upstream() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture(params=["memory", "redis"])
async def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, fake_upstream: FakeProvider
) -> AsyncIterator[Deployment]:
    prefix = f"test-{uuid.uuid4()}:"
    env = {
        **fake_provider_env(fake_upstream.url),
        "RELAYSCOPE_DATABASE_URL": f"sqlite:///{tmp_path}/relayscope.db",
        "RELAYSCOPE_CACHE_BACKEND": request.param,
    }
    if request.param == "memory":
        env["RELAYSCOPE_CACHE_PERSIST"] = "true"
    else:
        env |= {"RELAYSCOPE_REDIS_URL": REDIS_URL, "RELAYSCOPE_REDIS_PREFIX": prefix}
    settings = Settings.from_env(env, data_dir=tmp_path)
    try:
        async with InProcessGateway(settings, aiohttp.ThreadedResolver()) as gateway:
            key = gateway.auth.removeprefix("Bearer ")
            yield Deployment(gateway, request.param, prefix, [key])
    finally:
        with redis.Redis.from_url(REDIS_URL) as client:
            keys = list(client.scan_iter(match=f"{prefix}*"))
            if keys:
                client.delete(*keys)


async def ask(client: openai.AsyncOpenAI, content: str = "shared question", **headers: str):
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": content}],
        extra_headers={**CACHE, **headers},
    )
    return raw.parse(), raw.headers


async def ask_claude(client: anthropic.AsyncAnthropic, content: str = "shared question"):
    raw = await client.messages.with_raw_response.create(
        model="claude-3-5-sonnet-20241022",
        max_tokens=64,
        messages=[{"role": "user", "content": content}],
        extra_headers=CACHE,
    )
    return await raw.parse(), raw.headers


async def test_openai_apps_with_different_provider_keys_never_share_answers(
    deployment, fake_upstream
):
    async with deployment.openai(APP_ONE_KEY) as one, deployment.openai(APP_TWO_KEY) as two:
        first, headers = await ask(one)
        assert headers["helicone-cache"] == "MISS"
        again, headers = await ask(one)
        assert headers["helicone-cache"] == "HIT" and again.id == first.id
        other, headers = await ask(two)
        assert headers["helicone-cache"] == "MISS"
        assert other.id != first.id
        _, headers = await ask(two)
        assert headers["helicone-cache"] == "HIT"
    assert fake_upstream.calls == 2
    await assert_no_raw_key_is_kept(deployment, [APP_ONE_KEY, APP_TWO_KEY])


async def test_anthropic_apps_with_different_provider_keys_never_share_answers(
    deployment, fake_upstream
):
    async with (
        deployment.anthropic(ANTHROPIC_ONE_KEY) as one,
        deployment.anthropic(ANTHROPIC_TWO_KEY) as two,
    ):
        first, headers = await ask_claude(one)
        assert headers["helicone-cache"] == "MISS"
        again, headers = await ask_claude(one)
        assert headers["helicone-cache"] == "HIT" and again.id == first.id
        other, headers = await ask_claude(two)
        assert headers["helicone-cache"] == "MISS"
        assert other.id != first.id
    assert fake_upstream.calls == 2
    await assert_no_raw_key_is_kept(deployment, [ANTHROPIC_ONE_KEY, ANTHROPIC_TWO_KEY])


async def test_gateway_keys_of_one_org_do_not_share_answers(deployment, fake_upstream):
    other_auth = await deployment.second_gateway_key()
    async with (
        deployment.openai(APP_ONE_KEY) as mine,
        deployment.openai(APP_ONE_KEY, auth=other_auth) as colleague,
    ):
        first, _ = await ask(mine)
        other, headers = await ask(colleague)
        assert headers["helicone-cache"] == "MISS"
        assert other.id != first.id
        _, headers = await ask(colleague)
        assert headers["helicone-cache"] == "HIT"
    assert fake_upstream.calls == 2
    await assert_no_raw_key_is_kept(deployment, [APP_ONE_KEY, *deployment.gateway_keys])


async def test_s_maxage_wins_over_max_age(deployment, fake_upstream):
    ages = {"Cache-Control": "max-age=3600, s-maxage=1"}
    async with deployment.openai(APP_ONE_KEY) as client:
        _, headers = await ask(client, "short lived", **ages)
        assert headers["helicone-cache"] == "MISS"
        stored = time.monotonic()
        _, headers = await ask(client, "short lived", **ages)
        assert headers["helicone-cache"] == "HIT"

        async def expired() -> bool:
            _, headers = await ask(client, "short lived", **ages)
            return headers["helicone-cache"] == "MISS"

        await async_wait_until(expired, timeout=30, interval=0.1)
        assert time.monotonic() - stored < 60, "lived on past s-maxage"


@pytest.mark.parametrize(("value", "cached"), [("yes", False), ("1", False), ("TRUE", True)])
async def test_only_true_in_any_case_enables_the_cache(deployment, fake_upstream, value, cached):
    async with deployment.openai(APP_ONE_KEY) as client:
        for _ in range(2):
            raw = await client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"enabled {value}"}],
                extra_headers={"Helicone-Cache-Enabled": value},
            )
            assert raw.status_code == 200
    assert fake_upstream.calls == (1 if cached else 2)
    assert ("helicone-cache" in raw.headers) is cached
    if not cached:
        assert "Helicone-Cache-Enabled" in raw.headers["helicone-warning"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Helicone-Cache-Bucket-Max-Size", "many"),
        ("Helicone-Cache-Bucket-Max-Size", "0"),
        ("Helicone-Cache-Seed", "s" * 300),
        ("Helicone-Cache-Ignore-Keys", ",,, ,"),
        ("Cache-Control", "max-age=soon"),
    ],
)
async def test_what_helicone_tolerates_is_served_with_a_warning(
    deployment, fake_upstream, header, value
):
    async with deployment.openai(APP_ONE_KEY) as client:
        for expected in ("MISS", "HIT"):
            _, headers = await ask(client, f"tolerated {header}", **{header: value})
            assert headers["helicone-cache"] == expected
    assert fake_upstream.calls == 1
    malformed = header in ("Helicone-Cache-Bucket-Max-Size", "Cache-Control")
    assert (header in headers.get("helicone-warning", "")) is malformed


async def assert_no_raw_key_is_kept(deployment: Deployment, secrets: list[str]) -> None:
    """Neither the cache's rows in the store nor its Redis keys and values hold a key."""
    if deployment.backend == "memory":
        dumped = await async_wait_until(lambda: _cache_rows(deployment), timeout=10)
    else:
        dumped = _redis_contents(deployment.redis_prefix)
    assert dumped, "the cache kept nothing to scan"
    for secret in secrets:
        assert secret.encode() not in dumped


async def _cache_rows(deployment: Deployment) -> bytes:
    database = deployment.gateway.gateway.store.database
    async with database.connect() as conn:
        rows = (await conn.execute(select(cache_entries))).all()
    return b"\n".join(
        b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row) for row in rows
    )


def _redis_contents(prefix: str) -> bytes:
    parts: list[bytes] = []
    with redis.Redis.from_url(REDIS_URL) as client:
        for key in client.scan_iter(match=f"{prefix}*"):
            parts.append(key)
            kind = client.type(key)
            if kind == b"string":
                parts.append(client.get(key) or b"")
            elif kind == b"stream":
                for _id, fields in client.xrange(key):
                    parts.extend(k + b"=" + v for k, v in fields.items())
            elif kind == b"hash":
                parts.extend(k + b"=" + v for k, v in client.hgetall(key).items())
            elif kind == b"zset":
                parts.extend(member for member, _ in client.zrange(key, 0, -1, withscores=True))
    return b"\n".join(parts)
