"""Logged calls take the proxied requests' path to the store, crash journal included: a
gateway killed with SIGKILL right after answering a custom log and a trace export
loses neither record, which its successor on the same data directory stores."""

from __future__ import annotations

import signal

import httpx
import pytest

from relayscope.auth.keys import PROXY
from relayscope.testing.orgs import create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.waiting import wait_until

from .test_otlp_e2e import CALL, TRACE, attribute, json_export

CUSTOM_LOG = {
    "providerRequest": {"url": "custom-model-nopath", "json": {"model": "gpt-4o-mini"}},
    "providerResponse": {
        "json": {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
        "status": 200,
    },
}


@pytest.mark.e2e
def test_logged_calls_survive_a_sigkill_before_they_are_stored(tmp_path, fake_server, store_url):
    restart_env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": store_url}
    # Never written by time: when the kill comes, the records are only in memory and
    # in the journal.
    env = {**restart_env, "RELAYSCOPE_LOG_FLUSH_INTERVAL": "600"}
    first = GatewayProcess(tmp_path, env).start(timeout=90)
    org = create_org(store_url, role=PROXY)
    span = {
        "spanId": CALL,
        "name": "chat",
        "startTimeUnixNano": "1767000000000000000",
        "endTimeUnixNano": "1767000001000000000",
        "attributes": [attribute("gen_ai.request.model", "gpt-4o-mini")],
    }
    try:
        with httpx.Client(base_url=first.url, headers=org.bearer, timeout=10) as client:
            logged = client.post("/custom/v1/log", json=CUSTOM_LOG)
            traced = client.post("/v1/traces", json=json_export(TRACE, [span]))
            assert logged.status_code == traced.status_code == 200
            listed = client.get("/api/requests").json()["data"]
        assert listed == []  # nothing stored yet
    finally:
        assert first.process is not None
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(10)

    second = GatewayProcess(tmp_path, restart_env, port=first.port).start(timeout=90)
    try:
        record = wait_for_record(second, org, logged.json()["data"]["id"], timeout=20)
        assert (record["prompt_tokens"], record["completion_tokens"]) == (5, 2)
        with httpx.Client(base_url=second.url, headers=org.bearer, timeout=10) as client:

            def span_records() -> list[dict] | None:
                query = {"session_id": TRACE}
                return client.get("/api/requests", params=query).json()["data"] or None

            spans = wait_until(span_records, timeout=20)
        assert [row["request_model"] for row in spans] == ["gpt-4o-mini"]
    finally:
        second.stop()
