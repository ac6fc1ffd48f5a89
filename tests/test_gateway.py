"""The composition root: ``build_gateway`` starts every part in dependency order, stops
them in reverse (also when one fails to start), reaches providers through the injected
transport, and leaves the process (garbage collector, signals) as it found it."""

from __future__ import annotations

import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from relayscope.config import Settings
from relayscope.context import Context, ProxyResponse
from relayscope.gateway import build_gateway
from relayscope.pipeline import STAGES, Services
from relayscope.testing.asgi_transport import AsgiTransport
from relayscope.testing.fake_provider import FakeProviderApp, RequestLog
from relayscope.testing.loop_gateway import LoopGateway, running_gateway
from relayscope.types import CallNext, Stage

PARTS = ["store", "upstream", "journal", "log writer"]
STAGE_PARTS = [
    "LoggingStage",
    "PromptStage",
    "VirtualKeyStage",
    "RateLimitStage",
    "BudgetStage",
    "StreamUsageStage",
    "CacheStage",
    "RetryStage",
]
"""What a gateway with default settings starts first, in this order, then its stages."""
SERVICES = ["key watch", "governance", "alerts", "experiments", "evaluators"]


def lifecycle(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    """The parts the gateway reported started, and those it reported stopping, in order."""
    started, stopping = [], []
    for record in caplog.records:
        if record.name == "relayscope.gateway":
            verb, _, part = record.getMessage().partition(" ")
            {"started": started, "stopping": stopping}.get(verb, []).append(part)
    return started, stopping


class Noted(Stage):
    """A stage that notes its lifecycle in ``events``; ``fail`` makes its start raise."""

    def __init__(self, events: list[str], fail: bool = False) -> None:
        self.events, self.fail = events, fail

    async def start(self) -> None:
        if self.fail:
            raise RuntimeError("cannot start")
        self.events.append("started")

    async def aclose(self) -> None:
        self.events.append("closed")

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        return await call_next(ctx)


async def test_parts_start_in_dependency_order_and_stop_in_reverse(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="relayscope.gateway")
    async with build_gateway(Settings(data_dir=tmp_path)) as gateway:
        started, stopping = lifecycle(caplog)
        assert started == [*PARTS, *STAGE_PARTS, *SERVICES]
        assert stopping == []
        assert (await _get(gateway, "/readyz")).json()["status"] == "ready"
    started, stopping = lifecycle(caplog)
    assert stopping == list(reversed(started))


async def test_a_part_that_fails_to_start_stops_the_ones_started(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="relayscope.gateway")
    first: list[str] = []

    def noted(settings: Settings, services: Services) -> Stage:
        return Noted(first)

    def failing(settings: Settings, services: Services) -> Stage:
        return Noted([], fail=True)

    with pytest.raises(RuntimeError, match="cannot start"):
        async with build_gateway(Settings(data_dir=tmp_path), stages=(*STAGES, noted, failing)):
            pytest.fail("a gateway whose stage cannot start is never handed out")
    started, stopping = lifecycle(caplog)
    assert started == [*PARTS, *STAGE_PARTS, "Noted"], "nothing after the failing one started"
    assert stopping == list(reversed(started))
    assert first == ["started", "closed"]


async def test_building_a_gateway_leaves_the_process_as_it_found_it(tmp_path):
    def process() -> tuple[object, ...]:
        return (
            gc.get_threshold(),
            gc.get_freeze_count(),
            gc.isenabled(),
            sys.getswitchinterval(),
            signal.getsignal(signal.SIGTERM),
        )

    before = process()
    async with build_gateway(Settings(data_dir=tmp_path)):
        assert process() == before
    assert process() == before


@pytest.fixture
async def provider() -> AsyncIterator[tuple[RequestLog, AsgiTransport]]:
    requests = RequestLog()
    async with AsgiTransport(FakeProviderApp(requests)) as transport:
        yield requests, transport


@pytest.fixture
async def gw(tmp_path, provider) -> AsyncIterator[LoopGateway]:
    _requests, transport = provider
    # A name nothing resolves: only the injected transport can reach the provider.
    upstream = "http://fake-provider.invalid"
    async with running_gateway(tmp_path, upstream, transport=transport) as gw:
        yield gw


def sdk(gw: LoopGateway) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url="http://gateway/openai/v1",
        api_key="sk-client",
        max_retries=0,
        http_client=httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gw.gateway), headers=gw.client.headers
        ),
    )


async def test_the_openai_sdk_reaches_the_fake_provider_through_the_injected_transport(
    gw, provider
):
    requests, _transport = provider
    client = sdk(gw)
    raw = await client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}]
    )
    assert raw.parse().choices[0].message.content == "Echo: hello there"
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "and streamed"}], stream=True
    )
    words = [c.choices[0].delta.content async for c in stream if c.choices]
    assert "".join(w for w in words if w) == "Echo: and streamed"
    assert requests.calls == 2
    assert requests.requests[0].headers["authorization"] == "Bearer sk-client"
    record = await gw.record(raw.headers["helicone-id"])
    assert (record.status, record.prompt_tokens, record.completion_tokens) == (200, 5, 3)


async def _get(gateway: object, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway),  # type: ignore[arg-type]
        base_url="http://gateway",
    ) as client:
        return await client.get(path)
