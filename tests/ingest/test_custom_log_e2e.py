"""``POST /custom/v1/log``: an application logs a call it made itself, in Helicone's
custom-logging shape, by raw HTTP to an in-process gateway; the record is read back
through the API as any proxied request's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import openai
import orjson
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey

START = 1_767_000_000
USAGE = {"prompt_tokens": 1200, "completion_tokens": 340, "total_tokens": 1540}


def helicone_log(
    request: dict[str, Any],
    response: dict[str, Any],
    meta: dict[str, str] | None = None,
    url: str = "custom-model-nopath",
    status: int = 200,
) -> dict[str, Any]:
    return {
        "providerRequest": {"url": url, "json": request, "meta": meta or {}},
        "providerResponse": {"json": response, "status": status, "headers": {}},
        "timing": {
            "startTime": {"seconds": START, "milliseconds": 250},
            "endTime": {"seconds": START + 1, "milliseconds": 500},
        },
    }


def chat_request(model: str = "gpt-4o-mini") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Name a prime."}]}


def chat_response(model: str = "gpt-4o-mini", usage: dict[str, int] = USAGE) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "7"}}],
        "usage": usage,
    }


def test_a_logged_call_is_a_record_with_its_tags_tokens_cost_and_timing(
    gw: AsgiGateway, app_key: OrgKey
):
    request_id = str(uuid.uuid4())
    meta = {
        "Helicone-Request-Id": request_id,
        "Helicone-User-Id": "alice",
        "Helicone-Session-Id": "session-9",
        "Helicone-Session-Path": "/research/answer",
        "Helicone-Session-Name": "Research",
        "Helicone-Property-Feature": "primes",
    }
    body = helicone_log(chat_request(), chat_response(), meta)
    body["timing"]["timeToFirstToken"] = 300
    with gw.http(app_key.bearer) as client:
        response = client.post("/custom/v1/log", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"id": request_id}, "error": None}
    assert response.headers["helicone-id"] == request_id

    record = gw.record(app_key, request_id)
    assert record["provider"] == "custom"
    assert record["request_model"] == "gpt-4o-mini"
    assert record["response_model"] == "gpt-4o-mini"
    assert (record["user_id"], record["session_id"]) == ("alice", "session-9")
    assert (record["session_path"], record["session_name"]) == ("/research/answer", "Research")
    assert record["properties"] == {"feature": "primes"}
    assert (record["prompt_tokens"], record["completion_tokens"]) == (1200, 340)
    assert record["latency_ms"] == pytest.approx(1250)
    assert record["ttft_ms"] == 300
    assert datetime.fromisoformat(record["created_at"]) == datetime.fromtimestamp(START + 0.25, UTC)
    assert record["key_id"] == app_key.key_id
    assert record["request_body"] == chat_request()
    assert record["response_body"]["choices"][0]["message"]["content"] == "7"
    assert record["status"] == 200 and record["error"] is None
    assert record["cost_usd"] > 0


def test_a_logged_call_costs_what_the_same_call_proxied_costs(
    gw: AsgiGateway, app_key: OrgKey, fake
):
    """The same model and usage, one proxied (the fake provider answers) and one logged:
    priced by the same code, they cost the same."""
    sdk = openai.OpenAI(
        base_url=f"{gw.url}/openai/v1", api_key="sk-client", http_client=gw.sdk_http(app_key.auth)
    )
    raw = sdk.chat.completions.with_raw_response.create(**chat_request())
    proxied = gw.record(app_key, raw.headers["helicone-id"])
    usage = {
        "prompt_tokens": proxied["prompt_tokens"],
        "completion_tokens": proxied["completion_tokens"],
        "total_tokens": proxied["total_tokens"],
    }
    with gw.http(app_key.bearer) as client:
        logged = client.post(
            "/custom/v1/log",
            json=helicone_log(chat_request(), chat_response(proxied["response_model"], usage)),
        )
    record = gw.record(app_key, logged.json()["data"]["id"])
    assert record["cost_usd"] == pytest.approx(proxied["cost_usd"])
    assert record["cost_usd"] > 0


def test_a_provider_url_names_the_provider_and_its_response_format(
    gw: AsgiGateway, app_key: OrgKey
):
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-20241022",
        "content": [{"type": "text", "text": "7"}],
        "usage": {"input_tokens": 900, "output_tokens": 80},
    }
    body = helicone_log(
        chat_request("claude-3-5-haiku-20241022") | {"max_tokens": 50},
        message,
        url="https://api.anthropic.com/v1/messages",
    )
    with gw.http(app_key.auth) as client:  # Helicone-Auth works as well
        response = client.post("/custom/v1/log", json=body)
    assert response.status_code == 200, response.text
    record = gw.record(app_key, response.json()["data"]["id"])
    assert (record["provider"], record["path"]) == ("anthropic", "/v1/messages")
    assert (record["prompt_tokens"], record["completion_tokens"]) == (900, 80)
    assert record["cost_usd"] > 0


def test_helicone_headers_on_the_request_count_and_meta_wins(gw: AsgiGateway, app_key: OrgKey):
    """Helicone's loggers send extra Helicone-* headers on the HTTP request itself."""
    headers = {
        **app_key.bearer,
        "Helicone-User-Id": "from-header",
        "Helicone-Property-Env": "prod",
    }
    body = helicone_log(chat_request(), chat_response(), {"Helicone-User-Id": "from-meta"})
    with gw.http(headers) as client:
        response = client.post("/custom/v1/log", json=body)
    record = gw.record(app_key, response.json()["data"]["id"])
    assert record["user_id"] == "from-meta"
    assert record["properties"] == {"env": "prod"}


def test_a_streamed_call_logged_as_text_is_read_as_its_stream(gw: AsgiGateway, app_key: OrgKey):
    chunks = [
        {"model": "gpt-4o-mini", "choices": [{"index": 0, "delta": {"content": "Seven"}}]},
        {"model": "gpt-4o-mini", "choices": [], "usage": USAGE},
    ]
    text = "".join(f"data: {orjson.dumps(c).decode()}\n\n" for c in chunks) + "data: [DONE]\n\n"
    body = helicone_log(chat_request() | {"stream": True}, {})
    body["providerResponse"] = {"textBody": text, "status": 200, "headers": {}}
    with gw.http(app_key.bearer) as client:
        response = client.post("/oai/v1/log", json=body)
    assert response.status_code == 200, response.text
    record = gw.record(app_key, response.json()["data"]["id"])
    assert record["provider"] == "openai" and record["stream"] is True
    assert (record["prompt_tokens"], record["completion_tokens"]) == (1200, 340)
    assert record["response_body"]["choices"][0]["message"]["content"] == "Seven"


def test_an_error_response_is_logged_as_an_error(gw: AsgiGateway, app_key: OrgKey):
    error = {"error": {"message": "model overloaded", "type": "server_error"}}
    body = helicone_log(chat_request(), error, status=503)
    with gw.http(app_key.bearer) as client:
        response = client.post("/custom/v1/log", json=body)
    record = gw.record(app_key, response.json()["data"]["id"])
    assert (record["status"], record["error"], record["cost_usd"]) == (
        503,
        "model overloaded",
        None,
    )


def test_without_timing_the_call_is_timed_at_its_arrival(gw: AsgiGateway, app_key: OrgKey):
    body = helicone_log(chat_request(), chat_response())
    del body["timing"]
    before = datetime.now(UTC)
    with gw.http(app_key.bearer) as client:
        response = client.post("/custom/v1/log", json=body)
    record = gw.record(app_key, response.json()["data"]["id"])
    assert datetime.fromisoformat(record["created_at"]) >= before
    assert record["latency_ms"] == 0


def _without(body: dict[str, Any], *path: str) -> dict[str, Any]:
    holder = body
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return body


def _with(body: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    holder = body
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return body


def _good() -> dict[str, Any]:
    return helicone_log(chat_request(), chat_response())


BAD = {
    "no providerResponse": (_without(_good(), "providerResponse"), "providerResponse"),
    "no url": (_without(_good(), "providerRequest", "url"), "providerRequest.url"),
    "url not a string": (_with(_good(), 7, "providerRequest", "url"), "providerRequest.url"),
    "json not an object": (
        _with(_good(), "hi", "providerRequest", "json"),
        "providerRequest.json",
    ),
    "meta of numbers": (
        _with(_good(), {"a": 1}, "providerRequest", "meta"),
        "providerRequest.meta",
    ),
    "status a string": (
        _with(_good(), "200", "providerResponse", "status"),
        "providerResponse.status",
    ),
    "status out of range": (
        _with(_good(), 42, "providerResponse", "status"),
        "providerResponse.status",
    ),
    "no response body": (
        _without(_good(), "providerResponse", "json"),
        "providerResponse.json",
    ),
    "end before start": (
        _with(_good(), {"seconds": START - 10, "milliseconds": 0}, "timing", "endTime"),
        "timing.endTime",
    ),
    "milliseconds out of range": (
        _with(_good(), {"seconds": START, "milliseconds": 5000}, "timing", "startTime"),
        "timing.startTime",
    ),
    "seconds past year 9999": (
        _with(_good(), {"seconds": 10**15, "milliseconds": 0}, "timing", "startTime"),
        "timing.startTime",
    ),
    "a request id not a UUID": (
        _with(_good(), {"Helicone-Request-Id": "abc"}, "providerRequest", "meta"),
        "providerRequest.meta.Helicone-Request-Id",
    ),
    "a session path without a slash": (
        _with(_good(), {"Helicone-Session-Path": "a/b"}, "providerRequest", "meta"),
        "providerRequest.meta.Helicone-Session-Path",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_malformed_log_is_a_400_naming_the_field(gw: AsgiGateway, app_key: OrgKey, case: str):
    body, param = BAD[case]
    with gw.http(app_key.bearer) as client:
        response = client.post("/custom/v1/log", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_a_400(gw: AsgiGateway, app_key: OrgKey, raw: bytes):
    with gw.http(app_key.bearer) as client:
        response = client.post(
            "/custom/v1/log", content=raw, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The request body must be a JSON object"


def test_a_log_needs_a_gateway_key(gw: AsgiGateway):
    with gw.http() as client:
        missing = client.post("/custom/v1/log", json=_good())
        wrong = client.post(
            "/custom/v1/log", json=_good(), headers={"Authorization": "Bearer sk-relayscope-nope"}
        )
    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"


def test_a_log_larger_than_the_proxys_body_limit_is_a_413(gw: AsgiGateway, app_key: OrgKey):
    big = chat_request() | {"messages": [{"role": "user", "content": "x" * 300 * 1024}]}
    with gw.http(app_key.bearer) as client:
        response = client.post("/custom/v1/log", json=helicone_log(big, chat_response()))
        # The ingest routes take the proxy's limit (256 KiB in this module).
        fits = client.post(
            "/custom/v1/log",
            json=helicone_log(
                chat_request() | {"messages": [{"role": "user", "content": "y" * 100_000}]},
                chat_response(),
            ),
        )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert fits.status_code == 200, fits.text


def test_only_post_is_routed(gw: AsgiGateway, app_key: OrgKey):
    with gw.http(app_key.bearer) as client:
        response = client.get("/custom/v1/log")
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_bad_helicone_header_on_the_request_is_a_400_naming_it(gw: AsgiGateway, app_key: OrgKey):
    headers = {**app_key.bearer, "Helicone-Request-Id": "not-a-uuid"}
    with gw.http(headers) as client:
        response = client.post("/custom/v1/log", json=_good())
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "Helicone-Request-Id"


def test_an_unknown_provider_url_keeps_its_path(gw: AsgiGateway, app_key: OrgKey):
    body = helicone_log(
        chat_request("llama-3.1-8b"),
        chat_response("llama-3.1-8b"),
        url="http://llm.internal/v1/chat",
    )
    with gw.http(app_key.bearer) as client:
        response = client.post("/oai/v1/log", json=body)
    record = gw.record(app_key, response.json()["data"]["id"])
    assert (record["provider"], record["path"]) == ("openai", "/v1/chat")
