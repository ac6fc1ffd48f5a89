from __future__ import annotations

from collections.abc import Iterator

import pytest

from relayscope.auth.keys import PROXY
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.process import fake_provider_env


@pytest.fixture(scope="module")
def gw(tmp_path_factory, fake_server, store_urls) -> Iterator[AsgiGateway]:
    """One in-process gateway for the module (the store is this run's backend), with a
    small proxy body limit so that the ingest routes' limit can be reached."""
    url = store_urls.new(tmp_path_factory.mktemp("ingest-store"))
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": url,
        "RELAYSCOPE_MAX_BODY_BYTES": str(256 * 1024),
    }
    try:
        with AsgiGateway(tmp_path_factory.mktemp("ingest"), env) as gateway:
            yield gateway
    finally:
        store_urls.discard(url)


@pytest.fixture
def app_key(gw: AsgiGateway) -> OrgKey:
    """A new org and a proxy key of it: what an application holds."""
    return create_org(gw.database_url, role=PROXY)
