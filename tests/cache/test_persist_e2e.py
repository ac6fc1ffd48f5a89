"""The memory backend's optional persistence: a restarted gateway keeps its cache (two
gateways in turn on one data directory, in this process)."""

from __future__ import annotations

import time

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.process import fake_provider_env
from relayscope.testing.waiting import wait_until

from .conftest import chat, openai_client


def test_entries_survive_a_restart_when_persisted(tmp_path, fake_server, fake):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_CACHE_PERSIST": "true"}
    with AsgiGateway(tmp_path, env) as gateway:
        org = gateway.new_org()
        with openai_client(gateway.url, org.auth, http_client=gateway.sdk_http()) as client:
            original, first = chat(client, "remember me")
            chat(client, "forget me", extra_headers={"Cache-Control": "max-age=1"})
            stored = time.monotonic()
    # Restart only once the short-lived entry has expired: it must not come back.
    wait_until(lambda: time.monotonic() - stored > 1.05, timeout=5)
    with (
        AsgiGateway(tmp_path, env) as gateway,
        openai_client(gateway.url, org.auth, http_client=gateway.sdk_http()) as client,
    ):
        replayed, headers = chat(client, "remember me")
        assert headers["helicone-cache"] == "HIT" and replayed.id == original.id
        assert fake.calls == 2
        record = gateway.record(org, headers["helicone-id"])
        assert record["cache_source_id"] == first["helicone-id"]
        _, headers = chat(client, "forget me", extra_headers={"Cache-Control": "max-age=1"})
        assert headers["helicone-cache"] == "MISS"
        assert fake.calls == 3
