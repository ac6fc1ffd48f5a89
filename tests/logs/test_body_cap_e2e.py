"""What the log keeps of a body is bounded (RELAYSCOPE_LOG_MAX_BODY_BYTES); the
client still gets every byte, and the usage is still found."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from relayscope.cache.settings import CacheSettings
from relayscope.config import Settings
from relayscope.testing.bodies import anthropic_stream, completion_body, openai_stream
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.loop_gateway import running_gateway
from relayscope.testing.orgs import create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env

CHAT = "/openai/v1/chat/completions"
MESSAGES = "/anthropic/v1/messages"
SSE = {"content-type": "text/event-stream"}
LIMIT = 64 * 1024
MARKER = "[RelayScope: body truncated, first"


def chat(content: str = "hi", **fields: object) -> dict[str, object]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **fields}


async def test_a_long_stream_is_logged_cut_with_its_size_and_its_usage(tmp_path, fake):
    body, tokens = openai_stream(1_000_000)
    fake.set_default(Behaviour(body=body, headers=SSE))
    question = chat(stream=True, stream_options={"include_usage": True})
    async with running_gateway(tmp_path, fake.url, log_max_body_bytes=LIMIT) as gw:
        response = await gw.client.post(CHAT, json=question)
        assert response.content == body
        record = await gw.record(response.headers["helicone-id"])
    assert record.response_body_bytes == len(body)
    assert (record.prompt_tokens, record.completion_tokens) == (7, tokens)
    assert record.cost_usd and record.cost_usd > 0
    assembled = orjson.loads(record.response_body)
    assert assembled["choices"][0]["message"]["content"].startswith("tok tok ")
    assert len(record.response_body) < LIMIT


async def test_a_long_anthropic_stream_keeps_input_and_output_tokens(tmp_path, fake):
    body, tokens = anthropic_stream(1_000_000)
    fake.set_default(Behaviour(body=body, headers=SSE))
    question = {"model": "claude-3-5-sonnet-20241022", "max_tokens": 10, "stream": True,
                "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
    async with running_gateway(tmp_path, fake.url, log_max_body_bytes=LIMIT) as gw:
        response = await gw.client.post(MESSAGES, json=question, headers={"x-api-key": "k"})
        assert response.content == body
        record = await gw.record(response.headers["helicone-id"])
    assert record.response_body_bytes == len(body)
    assert (record.prompt_tokens, record.completion_tokens) == (11, tokens)
    assert orjson.loads(record.response_body)["content"][0]["text"].startswith("tok tok ")


async def test_long_bodies_are_logged_cut_and_marked_but_reach_their_destination_whole(
    tmp_path, fake
):
    answer = completion_body(1_000_000)
    fake.set_default(Behaviour(body=answer))
    question = chat("word " * 200_000)
    async with running_gateway(tmp_path, fake.url, log_max_body_bytes=LIMIT) as gw:
        response = await gw.client.post(CHAT, json=question)
        assert response.content == answer
        assert orjson.loads(fake.requests[-1].body) == question
        record = await gw.record(response.headers["helicone-id"])
    sent = len(orjson.dumps(question))
    assert record.request_body_bytes == sent
    assert record.request_body.startswith('{"model":"gpt-4o-mini"')
    assert record.request_body.endswith(f"{MARKER} {LIMIT} of {sent} bytes logged]")
    assert record.response_body_bytes == len(answer)
    assert record.response_body.startswith(answer[:200].decode())
    assert record.response_body.endswith(f"{MARKER} {LIMIT} of {len(answer)} bytes logged]")
    assert len(record.response_body) < LIMIT + 100
    # The usage object comes last in the answer: it is read from the kept tail.
    assert record.completion_tokens == 200_000 and record.response_model == "gpt-4o-mini"


async def test_short_bodies_are_logged_whole_without_sizes(tmp_path, fake):
    async with running_gateway(tmp_path, fake.url, log_max_body_bytes=LIMIT) as gw:
        response = await gw.client.post(CHAT, json=chat())
        record = await gw.record(response.headers["helicone-id"])
    assert record.request_body_bytes is None and record.response_body_bytes is None
    assert MARKER not in record.request_body and MARKER not in record.response_body
    assert orjson.loads(record.response_body) == response.json()


async def test_the_cache_keeps_answers_up_to_its_own_bound_not_the_logs(tmp_path, fake):
    cache = CacheSettings(max_entry_bytes=256 * 1024)
    cached = {"Helicone-Cache-Enabled": "true"}
    async with running_gateway(tmp_path, fake.url, log_max_body_bytes=LIMIT, cache=cache) as gw:
        # Longer than the log keeps, shorter than an entry may be: cached whole.
        within, _ = openai_stream(128 * 1024)
        fake.set_default(Behaviour(body=within, headers=SSE))
        question = chat("within", stream=True, stream_options={"include_usage": True})
        miss = await gw.client.post(CHAT, json=question, headers=cached)
        hit = await gw.client.post(CHAT, json=question, headers=cached)
        assert (miss.headers["helicone-cache"], hit.headers["helicone-cache"]) == ("MISS", "HIT")
        assert miss.content == hit.content == within
        assert fake.calls == 1

        # Longer than an entry may be: served whole every time, never cached.
        beyond, _ = openai_stream(512 * 1024)
        fake.set_default(Behaviour(body=beyond, headers=SSE))
        question = chat("beyond", stream=True, stream_options={"include_usage": True})
        for _ in range(2):
            response = await gw.client.post(CHAT, json=question, headers=cached)
            assert response.headers["helicone-cache"] == "MISS"
            assert response.content == beyond
        assert fake.calls == 3
        whole = completion_body(512 * 1024)
        fake.set_default(Behaviour(body=whole))
        for _ in range(2):
            response = await gw.client.post(CHAT, json=chat("whole"), headers=cached)
            assert response.headers["helicone-cache"] == "MISS"
            assert response.content == whole
        assert fake.calls == 5


@pytest.mark.parametrize("value", ["100", "0", "-5", "lots"])
def test_a_log_limit_below_1_kib_or_not_a_number_stops_the_gateway(value):
    with pytest.raises(SystemExit, match="RELAYSCOPE_LOG_MAX_BODY_BYTES"):
        Settings.from_env({"RELAYSCOPE_LOG_MAX_BODY_BYTES": value})
    assert Settings.from_env({}).log_max_body_bytes == 4 * 1024 * 1024


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.e2e
def test_a_100_mb_stream_keeps_the_gateway_small_and_the_log_flowing(
    tmp_path, fake_server: FakeProvider
):
    """A 100 MB stream used to cost the gateway several times its size and keep the
    log writer busy for a minute, so no other request was logged meanwhile."""
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_LOG_FLUSH_INTERVAL": "0.05"}
    huge, tokens = openai_stream(100 * 1024 * 1024)
    # Generous start-up time: on a loaded machine importing alone can take 30 s.
    gateway = GatewayProcess(tmp_path, env).start(timeout=180)
    try:
        with httpx.Client(timeout=120) as client:
            assert gateway.process is not None
            org = create_org(gateway.database_url)
            url = f"{gateway.url}{CHAT}"
            warm = client.post(url, json=chat(), headers=org.auth)
            wait_for_record(gateway, org, warm.headers["helicone-id"])
            before = peak_rss_bytes(gateway.process.pid)

            fake_server.reset()
            fake_server.enqueue(Behaviour(body=huge, headers=SSE))
            question = chat(stream=True, stream_options={"include_usage": True})
            received = 0
            with client.stream("POST", url, json=question, headers=org.auth) as response:
                assert response.status_code == 200
                big_id = response.headers["helicone-id"]
                for piece in response.iter_raw():
                    received += len(piece)
            assert received == len(huge)

            later = [client.post(url, json=chat(f"later {i}"), headers=org.auth) for i in range(12)]
            for response in later:
                wait_for_record(gateway, org, response.headers["helicone-id"], timeout=20)
            record = wait_for_record(gateway, org, big_id, timeout=20)
            grown = peak_rss_bytes(gateway.process.pid) - before
    finally:
        gateway.stop()
    assert record["response_body_bytes"] == len(huge)
    assert record["completion_tokens"] == tokens
    assert grown < 64 * 1024 * 1024, f"peak RSS grew by {grown / 2**20:.0f} MiB"
