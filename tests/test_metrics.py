"""``GET /metrics``: what a Prometheus scrape shows after real traffic."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.metrics import metric_value
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def snapshot(url: str) -> dict[str, float]:
    return {
        "ok": metric_value(url, "relayscope_requests_total", provider="openai", status="200"),
        "failed": metric_value(url, "relayscope_requests_total", provider="openai", status="500"),
        "claude": metric_value(url, "relayscope_requests_total", provider="anthropic"),
        "latency": metric_value(
            url, "relayscope_request_duration_seconds_count", provider="openai"
        ),
        "upstream": metric_value(
            url, "relayscope_upstream_errors_total", provider="openai", status="500"
        ),
        "output_tokens": metric_value(
            url, "relayscope_tokens_total", provider="anthropic", direction="output"
        ),
        "written": metric_value(url, "relayscope_log_records_total", outcome="written"),
        "writes": metric_value(url, "relayscope_store_write_seconds_count"),
    }


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: the counters are the process's own, with nothing else counted."""
    return gateway_process


def test_requests_latency_errors_tokens_and_log_writes_are_counted(gateway, org, fake):
    before = snapshot(gateway.url)
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1", api_key="sk-test", default_headers=org.auth
    ) as sdk:
        for _ in range(3):
            sdk.chat.completions.create(**CHAT)
    fake.enqueue(Behaviour(status=500))
    failed = httpx.post(
        f"{gateway.url}/openai/v1/chat/completions", headers=org.auth, json=CHAT, timeout=10
    )
    assert failed.status_code == 500
    with anthropic.Anthropic(
        base_url=f"{gateway.url}/anthropic", api_key="sk-ant", default_headers=org.auth
    ) as sdk:
        reply = sdk.messages.create(
            model="claude-3-5-haiku-latest",
            max_tokens=32,
            messages=[{"role": "user", "content": "count me"}],
        )

    def delta() -> dict[str, float] | None:
        now = snapshot(gateway.url)
        change = {k: now[k] - before[k] for k in now}
        return change if change["written"] >= 5 and change["claude"] >= 1 else None

    change = wait_until(delta, timeout=10)
    assert change["ok"] == 3 and change["failed"] == 1 and change["claude"] == 1
    assert change["latency"] == 4
    assert change["upstream"] == 1
    assert change["output_tokens"] == reply.usage.output_tokens
    assert change["writes"] >= 1


def test_metrics_speak_the_prometheus_text_format(gateway):
    response = httpx.get(f"{gateway.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for name in (
        "relayscope_log_queue_depth",
        "relayscope_log_spool_bytes",
        "relayscope_store_write_seconds_bucket",
        "relayscope_request_duration_seconds_bucket",
    ):
        assert name in text, name
