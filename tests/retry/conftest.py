"""SDK clients through the session gateway, and the retry headers the tests use."""

from __future__ import annotations

import anthropic
import openai
import pytest

OPENAI_KEY = "sk-openai-client-key-0001"
ANTHROPIC_KEY = "sk-ant-client-key-0002"
CLAUDE = "claude-3-5-haiku-20241022"

FAST_RETRIES = {
    "Helicone-Retry-Enabled": "true",
    "Helicone-Retry-Min-Timeout": "10",
    "Helicone-Retry-Max-Timeout": "40",
}


@pytest.fixture
def oai(gateway, org):
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key=OPENAI_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk


@pytest.fixture
def claude(gateway, org):
    with anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic",
        http_client=gateway.sdk_http(),
        api_key=ANTHROPIC_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk
