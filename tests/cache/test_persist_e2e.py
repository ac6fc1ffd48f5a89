"""The memory backend's optional persistence: a restarted gateway keeps its cache."""

from __future__ import annotations

import time

import pytest

from relayscope.testing.orgs import create_org, wait_for_record
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.waiting import wait_until

from .conftest import chat, openai_client

pytestmark = pytest.mark.e2e


def test_entries_survive_a_restart_when_persisted(tmp_path, fake_server, fake):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_CACHE_PERSIST": "true"}
    with GatewayProcess(tmp_path, env) as process:
        org = create_org(process.database_url)
        with openai_client(process.url, org.auth) as client:
            original, first = chat(client, "remember me")
            chat(client, "forget me", extra_headers={"Cache-Control": "max-age=1"})
            stored = time.monotonic()
    # Restart only once the short-lived entry has expired: it must not come back.
    wait_until(lambda: time.monotonic() - stored > 1.05, timeout=5)
    with GatewayProcess(tmp_path, env) as process, openai_client(process.url, org.auth) as client:
        replayed, headers = chat(client, "remember me")
        assert headers["helicone-cache"] == "HIT" and replayed.id == original.id
        assert fake.calls == 2
        record = wait_for_record(process, org, headers["helicone-id"])
        assert record["cache_source_id"] == first["helicone-id"]
        _, headers = chat(client, "forget me", extra_headers={"Cache-Control": "max-age=1"})
        assert headers["helicone-cache"] == "MISS"
        assert fake.calls == 3
