"""Feature headers fuzzed through a whole gateway (in this process, over the ASGI
transport): never a 500, and a 400 names the header.

The values come from the same strategy as the in-process fuzz test; the gateway
runs every feature (cache, retries, fallbacks, prompts) with every provider pointed
at the fake provider, so no request can leave the machine whatever a fallback says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayscope.providers.registry import PROVIDERS
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env

from .test_feature_header_fuzz import PARSERS, header_values

SWITCHES = {
    "Helicone-Cache-Enabled": "true",
    "Helicone-Retry-Enabled": "true",
    "Helicone-Retry-Min-Timeout": "0",
    "Helicone-Retry-Max-Timeout": "10",
    "Helicone-Prompt-Id": "fuzzed",
    "Helicone-Prompt-Variables": '{"question": "hello"}',
}
HEADERS = sorted({name for parser in PARSERS for name in parser.headers})


def sendable(value: str) -> bool:
    """A valid HTTP field value: the server refuses control characters before the gateway
    sees them, and trims surrounding blanks."""
    control = any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value)
    return not control and value == value.strip(" \t")


@pytest.fixture(scope="module")
def everything_on(tmp_path_factory, fake_server) -> Iterator[AsgiGateway]:
    env = {
        **fake_provider_env(fake_server.url),
        **{f"RELAYSCOPE_{p.name.upper()}_BASE_URL": fake_server.url for p in PROVIDERS},
    }
    with AsgiGateway(tmp_path_factory.mktemp("fuzz"), env) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def fuzz_org(everything_on) -> OrgKey:
    org = everything_on.new_org()
    prompt = {"id": "fuzzed", "messages": [{"role": "user", "content": "Say {{question}}"}]}
    with everything_on.api(org) as api:
        response = api.post("/api/prompts", json=prompt)
    assert response.status_code == 201
    return org


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    sent=st.dictionaries(
        st.sampled_from(HEADERS), header_values.filter(sendable), min_size=1, max_size=3
    )
)
def test_fuzzed_headers_never_fail_the_gateway(everything_on, fuzz_org, fake, sent):
    headers = {**fuzz_org.auth, **SWITCHES}
    for name in sent:  # the fuzzed value replaces a switch of the same name
        headers = {k: v for k, v in headers.items() if k.lower() != name}
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw += [(name.encode(), value.encode()) for name, value in sent.items()]
    with everything_on.http() as client:
        response = client.post(
            "/openai/v1/chat/completions",
            headers=raw,
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code < 500, response.text
    if response.status_code == 400:
        error = response.json()["error"]
        named = (error.get("param") or "").lower()
        assert named in {*sent, *(k.lower() for k in SWITCHES)}, error
        assert error["param"] in error["message"]
