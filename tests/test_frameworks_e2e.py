"""Frameworks users already have, pointed at the gateway as they would point them at
Helicone: litellm and langchain-openai, against a real gateway process whose providers
are the fake provider. What matters is the log record each call leaves: its tokens
(as the framework itself reported them), its user and its properties.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest

# litellm fetches its model price list from the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from relayscope.testing.waiting import wait_until

PROVIDER_KEY = "sk-provider-framework"

pytestmark = [
    # litellm's own types, built lazily on its first call; nothing the gateway does.
    pytest.mark.filterwarnings("ignore:.*`ReadOnly` qualifier:UserWarning"),
    pytest.mark.filterwarnings(
        "ignore:Accessing the 'model_(computed_)?fields' attribute:DeprecationWarning"
    ),
]


@pytest.fixture(autouse=True, scope="module")
def _close_cached_clients() -> Iterator[None]:
    """litellm keeps the SDK clients it makes for reuse; close them with this module."""
    yield
    cached = litellm.in_memory_llm_clients_cache
    for client in list(cached.cache_dict.values()):
        close = getattr(client, "close", None)
        if callable(close) and not asyncio.iscoroutinefunction(close):
            close()
    cached.flush_cache()


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: litellm opens its own HTTP clients, reaching a gateway by URL."""
    return gateway_process


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The HTTP client ChatOpenAI's SDK client uses, closed after the test."""
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def tags(org, user: str, feature: str) -> dict[str, str]:
    return {**org.auth, "Helicone-User-Id": user, "Helicone-Property-Feature": feature}


def test_litellm_completion_is_logged_with_its_tokens_user_and_properties(gateway, org, fake, user):
    response = litellm.completion(
        model="openai/gpt-4o-mini",
        api_base=f"{gateway.url}/openai/v1",
        api_key=PROVIDER_KEY,
        messages=[{"role": "user", "content": "Name three rivers"}],
        extra_headers=tags(org, user, "geography"),
        num_retries=0,
    )
    request_id = response._hidden_params["additional_headers"]["llm_provider-helicone-id"]
    record = gateway.record(org, request_id)
    assert record["provider"] == "openai" and record["status"] == 200
    assert (record["prompt_tokens"], record["completion_tokens"]) == (
        response.usage.prompt_tokens,
        response.usage.completion_tokens,
    )
    assert record["user_id"] == user
    assert record["properties"] == {"feature": "geography"}
    assert fake.requests[-1].headers["authorization"] == f"Bearer {PROVIDER_KEY}"


def test_litellm_stream_and_body_user_with_the_global_headers_helicone_documents(
    gateway, org, fake, user, monkeypatch
):
    """Helicone's litellm recipe sets ``litellm.headers`` once; the end user here is
    litellm's own ``user`` argument, which the gateway reads from the body."""
    monkeypatch.setattr(litellm, "headers", {**org.auth, "Helicone-Property-App": "cli"})
    chunks = list(
        litellm.completion(
            model="openai/gpt-4o-mini",
            api_base=f"{gateway.url}/openai/v1",
            api_key=PROVIDER_KEY,
            messages=[{"role": "user", "content": "Count to five"}],
            user=user,
            stream=True,
            stream_options={"include_usage": True},
            num_retries=0,
        )
    )
    usage = next(c.usage for c in reversed(chunks) if getattr(c, "usage", None))
    record = _only_record_of(gateway, org, user)
    assert record["stream"] is True and record["user_id"] == user
    assert (record["prompt_tokens"], record["completion_tokens"]) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert record["properties"] == {"app": "cli"}


def test_langchain_chat_openai_is_logged_with_its_tokens_user_and_properties(
    gateway, org, fake, user, http
):
    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=f"{gateway.url}/openai/v1",
        api_key=PROVIDER_KEY,
        default_headers=tags(org, user, "summaries"),
        max_retries=0,
        http_client=http,
    )
    answer = model.invoke([HumanMessage("Summarise: the sky is blue.")])
    assert answer.content
    record = _only_record_of(gateway, org, user)
    assert (record["prompt_tokens"], record["completion_tokens"]) == (
        answer.usage_metadata["input_tokens"],
        answer.usage_metadata["output_tokens"],
    )
    assert record["properties"] == {"feature": "summaries"}

    streamed = list(model.stream("Write one word", stream_usage=True))
    assert "".join(str(c.content) for c in streamed)
    usage = next(c.usage_metadata for c in reversed(streamed) if c.usage_metadata)
    with gateway.api(org) as api:
        records = _wait_for(api, user, 2)
    assert {r["user_id"] for r in records} == {user}
    stream_record = next(r for r in records if r["stream"])
    assert (stream_record["prompt_tokens"], stream_record["completion_tokens"]) == (
        usage["input_tokens"],
        usage["output_tokens"],
    )


def _wait_for(api, user: str, count: int) -> list[dict]:
    def listed() -> list[dict] | None:
        data = api.get("/api/requests", params={"user_id": user}).json()["data"]
        return data if len(data) >= count else None

    ids = [r["id"] for r in wait_until(listed)]
    return [api.get(f"/api/requests/{i}").json()["data"] for i in ids]


def _only_record_of(gateway, org, user: str) -> dict:
    with gateway.api(org) as api:
        records = _wait_for(api, user, 1)
    assert len(records) == 1
    return records[0]


def test_headers_helicone_tolerates_do_not_fail_framework_calls(gateway, org, fake, user, http):
    """Compatible mode, seen from the frameworks: a policy Helicone would skip and a
    request id from another system are proxied, and the record keeps the warnings."""
    response = litellm.completion(
        model="openai/gpt-4o-mini",
        api_base=f"{gateway.url}/openai/v1",
        api_key=PROVIDER_KEY,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={**tags(org, user, "limits"), "Helicone-RateLimit-Policy": "100 per minute"},
        num_retries=0,
    )
    headers = response._hidden_params["additional_headers"]
    assert headers["llm_provider-helicone-warning"].startswith("Helicone-RateLimit-Policy: ")

    model = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=f"{gateway.url}/openai/v1",
        api_key=PROVIDER_KEY,
        default_headers={**tags(org, user, "ids"), "Helicone-Request-Id": "langchain-run-42"},
        include_response_headers=True,
        max_retries=0,
        http_client=http,
    )
    answer = model.invoke("hi")
    warning = answer.response_metadata["headers"]["helicone-warning"]
    assert warning.startswith("Helicone-Request-Id: must be a UUID")
    with gateway.api(org) as api:
        records = _wait_for(api, user, 2)
    assert sorted(r["warnings"][0].split(":")[0] for r in records) == [
        "Helicone-RateLimit-Policy",
        "Helicone-Request-Id",
    ]


def test_litellm_apps_with_different_provider_keys_never_share_cached_answers(gateway, org, fake):
    """Point 1 and 3 of Helicone's cache rules, from litellm: the cache is on for ``True``
    in any case, and keyed on the provider credential."""
    question = [{"role": "user", "content": f"Cache me {uuid.uuid4().hex}"}]

    def ask(provider_key: str) -> str:
        response = litellm.completion(
            model="openai/gpt-4o-mini",
            api_base=f"{gateway.url}/openai/v1",
            api_key=provider_key,
            messages=question,
            extra_headers={**org.auth, "Helicone-Cache-Enabled": "True"},
            num_retries=0,
        )
        return response._hidden_params["additional_headers"]["llm_provider-helicone-cache"]

    assert [ask("sk-app-one"), ask("sk-app-one"), ask("sk-app-two")] == ["MISS", "HIT", "MISS"]
    assert fake.calls == 2


def test_litellm_anthropic_is_logged_with_its_tokens_and_the_body_user(gateway, org, fake, user):
    """litellm's Anthropic route: its ``user`` goes out as ``metadata.user_id``, which
    the gateway takes for the user when no header names one."""
    response = litellm.completion(
        model="anthropic/claude-3-5-haiku-latest",
        api_base=f"{gateway.url}/anthropic",
        api_key="sk-ant-framework",
        messages=[{"role": "user", "content": "Name a colour"}],
        max_tokens=32,
        user=user,
        extra_headers={**org.auth, "Helicone-Property-Feature": "colours"},
        num_retries=0,
    )
    assert fake.requests[-1].path == "/v1/messages"
    record = _only_record_of(gateway, org, user)
    assert record["provider"] == "anthropic"
    assert (record["prompt_tokens"], record["completion_tokens"]) == (
        response.usage.prompt_tokens,
        response.usage.completion_tokens,
    )
    assert record["properties"] == {"feature": "colours"}
