"""Shared fixtures: the fake provider, a real gateway process, and per-test orgs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.orgs import OrgKey, create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env


class Gateway:
    """A running gateway as the tests see it: its URL, its store, and its API."""

    def __init__(self, process: GatewayProcess) -> None:
        self.process = process
        self.url = process.url
        self.database_url = process.database_url

    def new_org(self, name: str | None = None) -> OrgKey:
        return create_org(self.database_url, name)

    def api(self, org: OrgKey) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=org.bearer, timeout=10)

    def record(self, org: OrgKey, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        return wait_for_record(self, org, request_id, timeout)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeProvider]:
    with FakeProvider() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeProvider) -> Iterator[FakeProvider]:
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_server: FakeProvider
) -> Iterator[Gateway]:
    env = fake_provider_env(fake_server.url)
    with GatewayProcess(tmp_path_factory.mktemp("gateway"), env) as process:
        yield Gateway(process)


@pytest.fixture
def org(gateway: Gateway) -> OrgKey:
    return gateway.new_org()
