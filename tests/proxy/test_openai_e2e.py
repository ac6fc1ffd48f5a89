"""The real openai SDK through a real gateway process to the fake provider."""

from __future__ import annotations

import json
import uuid

import httpx
import openai
import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.stores import store_contents

PROVIDER_KEY = "sk-provider-secret-0123456789"


@pytest.fixture
def client(gateway, org):
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key=PROVIDER_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk


def price(model: str, prompt: int, completion: int, provider: str = "openai") -> float:
    usage = Usage(input_tokens=prompt, output_tokens=completion)
    return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)


def test_non_streaming_chat_is_proxied_and_logged_with_tags(gateway, org, client, fake):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hello gateway"}],
        extra_headers={
            "Helicone-User-Id": "alice",
            "Helicone-Session-Id": "sess-1",
            "Helicone-Session-Path": "/trip/flights",
            "Helicone-Session-Name": "Trip planner",
            "Helicone-Property-Feature": "chat",
            "Helicone-Property-Tier": "gold",
            "Helicone-Request-Name": "greeting",
        },
    )
    completion = raw.parse()
    assert "hello gateway" in completion.choices[0].message.content
    request_id = raw.headers["helicone-id"]
    assert uuid.UUID(request_id)
    assert raw.headers["helicone-status"] == "success"

    record = gateway.record(org, request_id)
    assert record["org_id"] == org.org_id
    assert record["provider"] == "openai"
    assert record["path"] == "/openai/v1/chat/completions"
    assert record["status"] == 200
    assert record["request_model"] == "gpt-4o-mini"
    assert record["response_model"] == completion.model
    assert record["prompt_tokens"] == completion.usage.prompt_tokens
    assert record["completion_tokens"] == completion.usage.completion_tokens
    assert record["total_tokens"] == completion.usage.total_tokens
    expected = price(
        "gpt-4o-mini", completion.usage.prompt_tokens, completion.usage.completion_tokens
    )
    assert record["cost_usd"] == pytest.approx(expected)
    assert record["user_id"] == "alice"
    assert record["session_id"] == "sess-1"
    assert record["session_path"] == "/trip/flights"
    assert record["session_name"] == "Trip planner"
    assert record["properties"] == {
        "feature": "chat",
        "tier": "gold",
        "helicone-request-name": "greeting",
    }
    assert record["request_name"] == "greeting"
    assert record["stream"] is False
    assert record["latency_ms"] > 0
    assert record["request_body"]["messages"][0]["content"] == "hello gateway"
    assert record["response_body"]["choices"][0]["message"]["content"] == (
        completion.choices[0].message.content
    )


def test_property_names_are_stored_in_lower_case_whatever_was_sent(gateway, org, fake):
    response = gateway.post(
        "/openai/v1/chat/completions",
        headers={
            **org.auth,
            "Authorization": f"Bearer {PROVIDER_KEY}",
            "Helicone-Property-CustomerTier": "Gold",
        },
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 200
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["properties"] == {"customertier": "Gold"}


def test_streaming_passes_chunks_and_logs_the_assembled_message(gateway, org, client, fake):
    stream = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "tell me a short story"}],
        stream=True,
    )
    chunks = list(stream.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "tell me a short story" in text
    # The client did not ask for usage, so it must not see the usage-only chunk.
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    # ...but the provider was asked for it, so the gateway knows the tokens.
    upstream = fake.requests[-1].json
    assert upstream["stream_options"] == {"include_usage": True}

    record = gateway.record(org, stream.headers["helicone-id"])
    assert record["stream"] is True
    assert record["ttft_ms"] is not None and 0 < record["ttft_ms"] <= record["latency_ms"]
    assert record["completion_tokens"] > 0 and record["prompt_tokens"] > 0
    assert record["cost_usd"] == pytest.approx(
        price("gpt-4o-mini", record["prompt_tokens"], record["completion_tokens"])
    )
    assert record["response_body"]["choices"][0]["message"]["content"] == text
    assert "stream_options" not in record["request_body"]


PROVIDER_USAGE = {"prompt_tokens": 1234, "completion_tokens": 567, "total_tokens": 1801}
"""What the fake provider reports in its usage chunk: far from any count of the text."""


@pytest.mark.parametrize("client_asks", [True, False])
def test_stream_tokens_and_cost_come_from_the_providers_usage_chunk(
    gateway, org, client, fake, client_asks
):
    """The record's tokens are the provider's usage chunk, not a count of the text,
    and its cost is that usage priced; whether or not the client asked to see it."""
    options = {"stream_options": {"include_usage": True}} if client_asks else {}
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "count to three"}],
        stream=True,
        extra_headers={"x-fake-usage": json.dumps(PROVIDER_USAGE)},
        **options,
    )
    chunks = list(raw.parse())
    usage_chunks = [c for c in chunks if c.usage is not None]
    if client_asks:
        assert len(usage_chunks) == 1
        seen = usage_chunks[0].usage
        assert seen is not None
        usage = {
            "prompt_tokens": seen.prompt_tokens,
            "completion_tokens": seen.completion_tokens,
            "total_tokens": seen.total_tokens,
        }
        assert usage == PROVIDER_USAGE, "the client sees the provider's chunk as sent"
    else:
        assert usage_chunks == []
        assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
        usage = PROVIDER_USAGE

    record = gateway.record(org, raw.headers["helicone-id"])
    assert (record["prompt_tokens"], record["completion_tokens"]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert record["cost_usd"] == pytest.approx(
        price("gpt-4o-mini", usage["prompt_tokens"], usage["completion_tokens"])
    )


def test_embeddings_are_logged_with_tokens(gateway, org, client):
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["alpha beta", "gamma"]
    )
    result = raw.parse()
    assert len(result.data) == 2
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["prompt_tokens"] == result.usage.prompt_tokens
    assert record["cost_usd"] == pytest.approx(
        price("text-embedding-3-small", result.usage.prompt_tokens, 0)
    )


def test_unknown_model_has_null_cost_not_zero(gateway, org, client):
    raw = client.chat.completions.with_raw_response.create(
        model="my-private-finetune-xyz", messages=[{"role": "user", "content": "hi"}]
    )
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["prompt_tokens"] > 0
    assert record["cost_usd"] is None


def test_headers_pass_through_but_helicone_headers_do_not(gateway, org, client, fake):
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"OpenAI-Organization": "org-123", "Helicone-User-Id": "bob"},
        extra_query={"trace": "yes"},
    )
    seen = fake.requests[-1]
    assert seen.path == "/v1/chat/completions"
    assert seen.query_string == "trace=yes"
    assert seen.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert seen.headers["openai-organization"] == "org-123"
    assert not [name for name in seen.headers if name.lower().startswith("helicone-")]


def test_client_chosen_request_id_is_used(gateway, org, client):
    chosen = str(uuid.uuid4())
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"Helicone-Request-Id": chosen},
    )
    assert raw.headers["helicone-id"] == chosen
    assert gateway.record(org, chosen)["id"] == chosen


def test_v1_route_goes_to_openai(gateway, org, fake):
    with openai.OpenAI(
        base_url=f"{gateway.url}/v1",
        api_key=PROVIDER_KEY,
        default_headers=org.auth,
        http_client=gateway.sdk_http(),
    ) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert fake.requests[-1].path == "/v1/chat/completions"
    assert gateway.record(org, raw.headers["helicone-id"])["provider"] == "openai"


def test_client_disconnect_mid_stream_cancels_upstream_and_logs_partial(gateway_process, fake):
    # Disconnecting closes a real connection: a gateway process.
    gateway = gateway_process
    org = gateway.new_org()
    from relayscope.testing.fake_provider import Behaviour
    from relayscope.testing.waiting import wait_until

    fake.enqueue(Behaviour(chunk_delay_s=0.2))
    words = " ".join(f"w{i}" for i in range(40))  # ~40 chunks, 8 s if read to the end
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": words}],
    }
    headers = {**org.auth, "Authorization": f"Bearer {PROVIDER_KEY}"}
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST", f"{gateway.url}/openai/v1/chat/completions", json=body, headers=headers
        ) as response,
    ):
        request_id = response.headers["helicone-id"]
        seen = b""
        for chunk in response.iter_raw():
            seen += chunk
            if b"Echo" in seen:
                break
    # Leaving the block closed the connection after the first words.
    wait_until(lambda: fake.abandoned_streams == 1, timeout=5)
    record = gateway.record(org, request_id)
    assert record["cancelled"] is True
    assert record["latency_ms"] < 4000
    assert "client disconnected" in record["error"]
    received = record["response_body"]["choices"][0]["message"]["content"]
    assert received and len(received) < len("Echo: " + words)


def test_provider_keys_are_never_written_anywhere(gateway, org, client):
    secret = f"sk-provider-{uuid.uuid4().hex}"
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key=secret,
        default_headers=org.auth,
        http_client=gateway.sdk_http(),
    ) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "keep my key safe"}],
            extra_headers={"x-api-key": secret, "api-key": secret},
        )
        stream = sdk.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "and here"}], stream=True
        )
        list(stream.parse())
    gateway.record(org, raw.headers["helicone-id"])
    gateway.record(org, stream.headers["helicone-id"])
    files = [p for p in gateway.data_dir.rglob("*") if p.is_file()]
    leaked = [p for p in files if secret.encode() in p.read_bytes()]
    assert not leaked, f"provider key found in {leaked}"
    contents = store_contents(gateway.database_url)
    assert b"keep my key safe" in contents, "the store should hold the logged request"
    assert secret.encode() not in contents, "provider key found in the store"


def test_azure_and_groq_routes_reach_their_upstream_paths(gateway, org, fake):
    with openai.AzureOpenAI(
        azure_endpoint=f"{gateway.url}/azure/myresource",
        api_key="azure-key",
        api_version="2024-10-21",
        default_headers=org.auth,
        http_client=gateway.sdk_http(),
    ) as azure:
        raw = azure.chat.completions.with_raw_response.create(
            model="my-deployment", messages=[{"role": "user", "content": "hi azure"}]
        )
    seen = fake.requests[-1]
    assert seen.path == "/openai/deployments/my-deployment/chat/completions"
    assert seen.query_string == "api-version=2024-10-21"
    assert seen.headers["api-key"] == "azure-key"
    assert gateway.record(org, raw.headers["helicone-id"])["provider"] == "azure"

    with openai.OpenAI(
        base_url=f"{gateway.url}/groq/v1",
        api_key="gsk",
        default_headers=org.auth,
        http_client=gateway.sdk_http(),
    ) as groq:
        raw = groq.chat.completions.with_raw_response.create(
            model="llama-3.1-8b-instant", messages=[{"role": "user", "content": "hi groq"}]
        )
    assert fake.requests[-1].path == "/openai/v1/chat/completions"
    record = gateway.record(org, raw.headers["helicone-id"])
    assert record["provider"] == "groq"
    assert record["cost_usd"] is not None and record["cost_usd"] > 0
