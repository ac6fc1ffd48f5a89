"""An in-process gateway with a clock the tests move, and virtual keys made through
the API the way an admin makes them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from relayscope.testing.asgi_gateway import Address, AsgiGateway
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env

OPENAI_SECRET = "sk-openai-stored-in-the-key-7781"
ANTHROPIC_SECRET = "sk-ant-stored-in-the-key-9932"
CLAUDE = "claude-3-5-haiku-20241022"


class Clock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class VirtualKey:
    id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Helicone-Auth": f"Bearer {self.key}"}


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory,
    fake_server: FakeProvider,
    store_urls: Any,
    clock: Clock,
) -> Iterator[AsgiGateway]:
    data_dir: Path = tmp_path_factory.mktemp("virtual-keys")
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
    }
    with AsgiGateway(data_dir, env, clock=clock) as gateway:
        yield gateway


@pytest.fixture
def org(gateway: AsgiGateway) -> OrgKey:
    """An org and its admin key."""
    return gateway.new_org()


def make_key(gateway: AsgiGateway, org: OrgKey, **settings: Any) -> VirtualKey:
    with gateway.api(org) as api:
        made = api.post("/api/keys", json=settings)
    assert made.status_code == 201, made.text
    return VirtualKey(made.json()["data"]["id"], made.json()["key"])


def openai_sdk(
    gateway: AsgiGateway, key: VirtualKey, client: Address | None = None
) -> openai.OpenAI:
    """The openai SDK holding nothing but the gateway key."""
    return openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(client=client),
        api_key=key.key,
        default_headers=key.auth,
        max_retries=0,
    )


def anthropic_sdk(gateway: AsgiGateway, key: VirtualKey) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        http_client=gateway.sdk_http(),
        api_key=key.key,
        default_headers=key.auth,
        max_retries=0,
    )


def chat(sdk: openai.OpenAI, model: str = "gpt-4o-mini", **extra: Any) -> Any:
    return sdk.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hello"}], **extra
    )


def records(gateway: AsgiGateway, org: OrgKey, count: int) -> list[dict[str, Any]]:
    """The org's stored records, once there are ``count`` of them (newest first)."""
    from relayscope.testing.waiting import wait_until

    with gateway.api(org) as api:

        def fetch() -> list[dict[str, Any]] | None:
            response: httpx.Response = api.get("/api/requests", params={"limit": 100})
            data: list[dict[str, Any]] = response.json()["data"]
            return data if len(data) >= count else None

        return wait_until(fetch)
