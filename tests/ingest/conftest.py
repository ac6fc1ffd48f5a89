from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

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


class AsgiAdapter(requests.adapters.BaseAdapter):
    """Sends a ``requests`` session's requests to an in-process gateway (the OTLP
    exporter posts with ``requests``): no socket, the gateway's own event loop."""

    def __init__(self, gateway: AsgiGateway) -> None:
        super().__init__()
        self.gateway = gateway

    def send(self, request: requests.PreparedRequest, **_options: Any) -> requests.Response:
        with self.gateway.http() as client:
            answer = client.request(
                request.method or "GET",
                request.url or "/",
                content=request.body,
                headers=dict(request.headers),
            )
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.reason_phrase
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.content
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        """Nothing to close: the gateway stays until its ``with`` block ends."""


def gateway_session(gateway: AsgiGateway) -> requests.Session:
    session = requests.Session()
    session.mount(gateway.url, AsgiAdapter(gateway))
    return session
