"""A gateway that re-reads standing policies quickly, and helpers for Redis prefixes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.orgs import OrgKey, create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env

REDIS_URL = "redis://127.0.0.1:6379/0"
POLICY_TTL = "0.1"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


class RateLimitGateway:
    def __init__(self, process: GatewayProcess) -> None:
        self.process = process
        self.url = process.url
        self.database_url = process.database_url

    def new_org(self) -> OrgKey:
        return create_org(self.database_url)

    def chat(self, org: OrgKey, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(
            f"{self.url}/openai/v1/chat/completions",
            headers={**org.auth, **(headers or {})},
            json=CHAT,
            timeout=10,
        )

    def api(self, org: OrgKey) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=org.bearer, timeout=10)

    def record(self, org: OrgKey, request_id: str) -> dict[str, Any]:
        return wait_for_record(self, org, request_id)


def gateway_env(fake_url: str, **extra: str) -> dict[str, str]:
    return {**fake_provider_env(fake_url), "RELAYSCOPE_RATELIMIT_POLICY_TTL": POLICY_TTL, **extra}


@pytest.fixture(scope="session")
def rl_gateway(
    e2e_process, tmp_path_factory: pytest.TempPathFactory, fake_server: FakeProvider
) -> Iterator[RateLimitGateway]:
    with GatewayProcess(tmp_path_factory.mktemp("ratelimit"), gateway_env(fake_server.url)) as p:
        yield RateLimitGateway(p)


@pytest.fixture
def rl_org(rl_gateway: RateLimitGateway) -> OrgKey:
    return rl_gateway.new_org()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex}:"
    yield prefix
    delete_keys(prefix)


def delete_keys(prefix: str) -> None:
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
