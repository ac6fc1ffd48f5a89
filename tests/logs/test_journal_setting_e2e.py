"""RELAYSCOPE_JOURNAL_ENABLED=false: requests are still logged, and nothing is
journaled (the operator chose speed over crash durability; the bench measures it)."""

from __future__ import annotations

import httpx
import pytest

from relayscope.testing.orgs import create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env

pytestmark = pytest.mark.e2e

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


@pytest.mark.parametrize("enabled", ["true", "false"])
def test_the_journal_setting_decides_whether_requests_are_journaled(tmp_path, fake_server, enabled):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_JOURNAL_ENABLED": enabled}
    with GatewayProcess(tmp_path, env) as gateway:
        org = create_org(gateway.database_url)
        with httpx.Client(base_url=gateway.url, headers=org.auth, timeout=10) as client:
            response = client.post("/openai/v1/chat/completions", json=CHAT)
        assert response.status_code == 200
        record = wait_for_record(gateway, org, response.headers["helicone-id"])
        assert record["status"] == 200
        segments = list((tmp_path / "journal").glob("*.jsonl"))
    assert bool(segments) == (enabled == "true")
