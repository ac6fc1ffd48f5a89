"""The real OpenAI Agents SDK through a real gateway: an agent run with a function tool
(two Responses API calls: the tool call, then the answer), streamed and not."""

from __future__ import annotations

import asyncio
from typing import Any

import openai
import pytest
from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from genai_prices import Usage, calc_price

from relayscope.testing.waiting import wait_until

MODEL = "gpt-4o-mini"


@function_tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"sunny in {city}"


def make_agent(gateway, org) -> tuple[Agent[Any], openai.AsyncOpenAI]:
    """The agent and its client; the client is closed on the loop that used it."""
    set_tracing_disabled(True)  # the SDK would otherwise export traces to OpenAI
    client = openai.AsyncOpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-agents-provider-key",
        default_headers={**org.auth, "Helicone-Property-Agent": "weather"},
        max_retries=0,
        http_client=gateway.sdk_async_http(),
    )
    agent = Agent(
        name="weather",
        instructions="You are a helpful weather agent.",
        tools=[get_weather],
        model=OpenAIResponsesModel(model=MODEL, openai_client=client),
    )
    return agent, client


def records(gateway, org, count: int) -> list[dict[str, Any]]:
    """The org's ``count`` records, oldest first, with their bodies."""
    with gateway.api(org) as api:

        def listed() -> list[dict[str, Any]] | None:
            data = api.get("/api/requests").json()["data"]
            return data if len(data) >= count else None

        ids = [r["id"] for r in reversed(wait_until(listed, timeout=10))]
    return [gateway.record(org, ident) for ident in ids]


def price(record: dict[str, Any]) -> float:
    usage = Usage(input_tokens=record["prompt_tokens"], output_tokens=record["completion_tokens"])
    return float(calc_price(usage, model_ref=MODEL, provider_id="openai").total_price)


def check_run(gateway, org, final_output: str, fake) -> None:
    assert final_output == "Echo: sunny in fake-city"
    first, second = fake.requests[-2:]
    assert first.path == second.path == "/v1/responses"
    assert first.headers["user-agent"].startswith("Agents/Python")
    assert second.json["input"][-1]["type"] == "function_call_output"

    call, answer = records(gateway, org, 2)
    assert call["response_body"]["output"][0]["type"] == "function_call"
    assert call["response_body"]["output"][0]["name"] == "get_weather"
    assert answer["response_body"]["output"][0]["content"][0]["text"] == final_output
    for record in (call, answer):
        assert record["prompt_tokens"] > 0 and record["completion_tokens"] > 0
        assert record["cost_usd"] == pytest.approx(price(record))
        assert {k.lower(): v for k, v in record["properties"].items()} == {"agent": "weather"}


def test_an_agent_run_is_two_logged_responses_calls(gateway, org, fake):
    async def run() -> str:
        agent, client = make_agent(gateway, org)
        async with client:
            result = await Runner.run(agent, "What is the weather in Tokyo?")
        return str(result.final_output)

    check_run(gateway, org, asyncio.run(run()), fake)
    assert all(r.json.get("stream") is not True for r in fake.requests[-2:])


def test_a_streamed_agent_run_is_logged_the_same(gateway, org, fake):
    async def run() -> tuple[str, list[str]]:
        agent, client = make_agent(gateway, org)
        async with client:
            streamed = Runner.run_streamed(agent, "What is the weather in Tokyo?")
            kinds = [event.type async for event in streamed.stream_events()]
        return str(streamed.final_output), kinds

    final_output, kinds = asyncio.run(run())
    assert "raw_response_event" in kinds
    check_run(gateway, org, final_output, fake)
    assert all(r.json["stream"] is True for r in fake.requests[-2:])
    call, answer = records(gateway, org, 2)
    assert call["stream"] is True and answer["ttft_ms"] is not None
