"""Helpers shared by the cache tests."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx2
import openai
import pytest

PROVIDER_KEY = "sk-provider-secret-0123456789"
CACHE = {"Helicone-Cache-Enabled": "true"}


def openai_client(
    url: str, auth: dict[str, str], *, http_client: httpx2.Client | None = None, **headers: str
) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{url}/openai/v1",
        api_key=PROVIDER_KEY,
        default_headers={**auth, **headers},
        max_retries=0,
        http_client=http_client,
    )


def chat(client: openai.OpenAI, content: str = "hello cache", **kwargs):
    """A cached chat completion: (parsed completion, response headers)."""
    extra = {**CACHE, **kwargs.pop("extra_headers", {})}
    raw = client.chat.completions.with_raw_response.create(
        model=kwargs.pop("model", "gpt-4o-mini"),
        messages=[{"role": "user", "content": content}],
        extra_headers=extra,
        **kwargs,
    )
    return raw.parse(), raw.headers


@pytest.fixture
def client(gateway, org) -> Iterator[openai.OpenAI]:
    with openai_client(gateway.url, org.auth, http_client=gateway.sdk_http()) as sdk:
        yield sdk


@pytest.fixture
def claude(gateway, org) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        http_client=gateway.sdk_http(),
        api_key="sk-ant-provider-secret",
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk
