"""``relayscope export``: logs move from the embedded store to Postgres or ClickHouse, once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from relayscope.store.base import RequestFilter
from relayscope.store.logs import open_log_store
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import create_org
from relayscope.testing.postgres import run_sync
from relayscope.testing.process import clean_env, fake_provider_env

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def export(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relayscope", "export", *args],
        env={**clean_env(), "RELAYSCOPE_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def embedded(e2e_process, tmp_path_factory, fake_server):
    """An embedded store holding 3 records of org 'alpha' and 2 of org 'beta'."""
    data_dir = tmp_path_factory.mktemp("embedded")
    # The gateway that fills it runs in this process: the export CLI is what is shown.
    with AsgiGateway(data_dir, fake_provider_env(fake_server.url)) as gateway:
        ids = {}
        for name, count in (("alpha", 3), ("beta", 2)):
            org = create_org(gateway.database_url, name)
            ids[name] = (org.org_id, set())
            for _ in range(count):
                response = gateway.post("/openai/v1/chat/completions", headers=org.auth, json=CHAT)
                ids[name][1].add(response.headers["helicone-id"])
    # Stopping drained the log queue: everything is stored.
    return data_dir, gateway.database_url, ids


@pytest.fixture(params=["postgres", "clickhouse"])
def destination(request, tmp_path):
    if request.param == "clickhouse":
        yield f"chdb://{tmp_path}/chdb"
        return
    databases = request.getfixturevalue("postgres_databases")
    url = databases.create()
    yield url
    databases.drop(url)


def contents(url: str, org_id: str) -> list:
    async def read():
        store = open_log_store(url)
        try:
            page = await store.list_requests(org_id, RequestFilter(), limit=100, cursor=None)
            return [await store.get_request(org_id, r.id) for r in page.records]
        finally:
            await store.close()

    return run_sync(read())


def test_export_is_batched_idempotent_and_exact(embedded, destination):
    data_dir, source_url, ids = embedded
    alpha_id, alpha = ids["alpha"]
    beta_id, beta = ids["beta"]

    first = export(data_dir, "--to", destination, "--org", "alpha", "--batch-size", "2")
    assert first.returncode == 0, first.stderr
    assert "exported 3 records: 3 new, 0 already in the destination" in first.stdout
    assert first.stderr.count("read") == 2, "two batches of at most two"

    everything = export(data_dir, "--to", destination)
    assert "exported 5 records: 2 new, 3 already in the destination" in everything.stdout
    again = export(data_dir, "--to", destination)
    assert "exported 5 records: 0 new, 5 already in the destination" in again.stdout

    assert {r.id for r in contents(destination, alpha_id)} == alpha
    assert {r.id for r in contents(destination, beta_id)} == beta
    originals = {r.id: r for r in contents(source_url, alpha_id)}
    for copied in contents(destination, alpha_id):
        assert copied == originals[copied.id]


def test_export_refuses_unknown_orgs_and_itself(embedded, tmp_path):
    data_dir, source_url, _ids = embedded
    unknown = export(data_dir, "--to", f"chdb://{tmp_path}/chdb", "--org", "nobody")
    assert unknown.returncode != 0 and "no org named 'nobody'" in unknown.stderr
    itself = export(data_dir, "--to", source_url)
    assert itself.returncode != 0 and "--to names the source store itself" in itself.stderr
