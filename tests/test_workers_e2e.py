"""``relayscope serve --workers 2``: two OS processes on one port, both serving and logging."""

from __future__ import annotations

import signal

import pytest

from relayscope.testing.metrics import metric_value
from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env, requests_by_worker
from relayscope.testing.stores import stored_ids
from relayscope.testing.waiting import wait_until

pytestmark = pytest.mark.e2e

GRACEFUL = (0, -signal.SIGTERM)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_two_workers_serve_log_and_count_as_one(tmp_path, fake_server, store_url):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": store_url}
    with GatewayProcess(tmp_path, env, workers=2) as gateway:
        org = create_org(store_url)
        by_pid = requests_by_worker(gateway, org.auth, per_worker=3, timeout=30)
        assert len(by_pid) == 2 and gateway.process.pid not in by_pid
        sent = {i for ids in by_pid.values() for i in ids}
        wait_until(lambda: stored_ids(store_url, org.org_id) == sent, timeout=10)

        # Whichever worker answers the scrape, it reports both workers' requests.
        for _ in range(4):
            wait_until(
                lambda: (
                    metric_value(gateway.url, "relayscope_requests_total", status="200")
                    >= len(sent)
                )
            )


def test_sigterm_drains_every_workers_queue(tmp_path, fake_server, store_url):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_url,
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "60",
        "RELAYSCOPE_LOG_BATCH_SIZE": "100000",
    }
    gateway = GatewayProcess(tmp_path, env, workers=2).start()
    try:
        org = create_org(store_url)
        by_pid = requests_by_worker(gateway, org.auth, per_worker=2, timeout=30)
        assert not stored_ids(store_url, org.org_id), "records should still be queued"
    finally:
        assert gateway.stop() in GRACEFUL
    assert stored_ids(store_url, org.org_id) == {i for ids in by_pid.values() for i in ids}
