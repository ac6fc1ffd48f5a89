"""RELAYSCOPE_JOURNAL_ENABLED=false: requests are still logged, and nothing is
journaled (the operator chose speed over crash durability; the bench measures it)."""

from __future__ import annotations

import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.process import fake_provider_env

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


@pytest.mark.parametrize("enabled", ["true", "false"])
def test_the_journal_setting_decides_whether_requests_are_journaled(tmp_path, fake_server, enabled):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_JOURNAL_ENABLED": enabled}
    with AsgiGateway(tmp_path, env) as gateway:
        org = gateway.new_org()
        with gateway.http(org.auth) as client:
            response = client.post("/openai/v1/chat/completions", json=CHAT)
        assert response.status_code == 200
        record = gateway.record(org, response.headers["helicone-id"])
        assert record["status"] == 200
        segments = list((tmp_path / "journal").glob("*.jsonl"))
    assert bool(segments) == (enabled == "true")
