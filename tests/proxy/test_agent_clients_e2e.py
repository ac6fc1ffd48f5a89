"""Agent clients that cannot run here (Claude Code, the Codex CLI, the OpenAI Agents
SDK), replayed from stored wire requests through a real gateway to the fake provider.

Each fixture in ``agent_fixtures/`` is one request as that client sends it: method,
path, headers and body (see its ``notes``). The replay asserts that the provider gets
the body byte for byte and every header the client set, that the client gets the
provider's answer, and that the record has the tokens, cost and assembled output.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from genai_prices import Usage, calc_price

from relayscope.providers.formats.sse import iter_events

FIXTURES = Path(__file__).parent / "agent_fixtures"
PROVIDERS = {"Claude Code": "anthropic"}


def fixtures() -> list[Any]:
    return [
        pytest.param(json.loads(path.read_text()), id=path.stem)
        for path in sorted(FIXTURES.glob("*.json"))
    ]


def replay(gateway, org, fixture: dict[str, Any]) -> tuple[httpx.Response, bytes, str]:
    provider = PROVIDERS.get(fixture["client"], "openai")
    body = json.dumps(fixture["body"]).encode()
    request_id = str(uuid.uuid4())
    headers = {**fixture["headers"], **org.auth, "Helicone-Request-Id": request_id}
    response = gateway.request(
        fixture["method"],
        f"/{provider}{fixture['path']}",
        content=body,
        headers=headers,
        timeout=10,
    )
    return response, body, request_id


def price(provider: str, model: str, inputs: int, outputs: int, read: int, write: int) -> float:
    usage = Usage(
        input_tokens=inputs,
        output_tokens=outputs,
        cache_read_tokens=read or None,
        cache_write_tokens=write or None,
    )
    return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)


@pytest.mark.parametrize("fixture", fixtures())
def test_agent_request_passes_through_and_is_logged(gateway, org, fake, fixture):
    response, body, request_id = replay(gateway, org, fixture)
    assert response.status_code == 200, response.text

    seen = fake.requests[-1]
    assert seen.body == body
    assert seen.path == fixture["path"].split("?")[0]
    assert seen.query_string == fixture["path"].partition("?")[2]
    for name, value in fixture["headers"].items():
        assert seen.headers.get(name) == value, name

    record = gateway.record(org, request_id)
    assert record["request_body"] == fixture["body"]
    assert record["status"] == 200
    assert record["stream"] is fixture["body"].get("stream", False)
    if record["stream"]:
        assert record["ttft_ms"] is not None
    if PROVIDERS.get(fixture["client"]) == "anthropic":
        check_anthropic(record, response, fixture)
    else:
        check_responses(record, response, fixture)


def check_anthropic(record: dict[str, Any], response: httpx.Response, fixture: dict[str, Any]):
    model = fixture["body"]["model"]
    if fixture["body"].get("stream"):
        events = [orjson.loads(data) for _, data in iter_events(response.content)]
        usage = {**events[0]["message"]["usage"], **events[-2]["usage"]}
        deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
        thinking = "".join(d.get("thinking", "") for d in deltas)
        text = "".join(d.get("text", "") for d in deltas)
        signature = "".join(d.get("signature", "") for d in deltas)
        blocks = record["response_body"]["content"]
        assert blocks[0] == {"type": "thinking", "thinking": thinking, "signature": signature}
        assert blocks[1] == {"type": "text", "text": text}
    else:
        answer = response.json()
        usage = answer["usage"]
        assert record["response_body"] == answer
    read, write = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
    inputs = usage["input_tokens"] + read + write
    assert record["prompt_tokens"] == inputs
    assert record["completion_tokens"] == usage["output_tokens"]
    expected = price("anthropic", model, inputs, usage["output_tokens"], read, write)
    assert record["cost_usd"] == pytest.approx(expected)


def check_responses(record: dict[str, Any], response: httpx.Response, fixture: dict[str, Any]):
    if fixture["body"].get("stream"):
        events = [orjson.loads(data) for _, data in iter_events(response.content)]
        assert events[-1]["type"] == "response.completed"
        answer = events[-1]["response"]
        text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
        message = next(item for item in answer["output"] if item["type"] == "message")
        assert message["content"][0]["text"] == text
    else:
        answer = response.json()
    assert record["response_body"] == answer
    usage = answer["usage"]
    assert record["prompt_tokens"] == usage["input_tokens"]
    assert record["completion_tokens"] == usage["output_tokens"]
    assert record["reasoning_tokens"] == usage["output_tokens_details"]["reasoning_tokens"]
    cached = usage["input_tokens_details"]["cached_tokens"]
    expected = price(
        "openai", fixture["body"]["model"], usage["input_tokens"], usage["output_tokens"], cached, 0
    )
    assert record["cost_usd"] == pytest.approx(expected)


def test_the_fixtures_cover_every_agent_client():
    clients = {json.loads(path.read_text())["client"] for path in FIXTURES.glob("*.json")}
    assert clients == {"Claude Code", "OpenAI Codex CLI", "OpenAI Agents SDK"}


def test_agents_sdk_tool_call_is_logged_as_a_function_call_item(gateway, org, fake):
    fixture = json.loads((FIXTURES / "openai_agents_sdk_run.json").read_text())
    response, _, request_id = replay(gateway, org, fixture)
    call = response.json()["output"][0]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    record = gateway.record(org, request_id)
    assert record["response_body"]["output"][0]["arguments"] == call["arguments"]
