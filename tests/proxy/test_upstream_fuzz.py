"""Property-based: whatever ``Helicone-Target-Url``, request path and ``Helicone-Fallbacks``
a client sends together, the gateway connects only to an allowed origin or answers 4xx.

The only origin the operator configured here is the fake provider (every provider is
overridden to it, and it is allowlisted). Every host name resolves to a loopback
listener, and IP literals in the inputs name the listener's port: a single connection
to the listener is a request the gateway should have refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from relayscope.config import Settings
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.inprocess import InProcessGateway
from relayscope.testing.listener import RecordingListener

CHAT = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
PORT = "{port}"
"""Stands for the listener's port in the inputs below."""

HOSTS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "169.254.169.254",
    "api.openai.com",
    "api.deepseek.com",
    "api.deepseek.com.evil.example",
    "api.anthropic.com.example.net",
    "evilapi.openai.com",
    "api.example.org",
    "a.example.net",
]
PATH_PIECES = [
    "/gateway",
    "/v1",
    "/chat/completions",
    "/messages",
    "/openai",
    "/anthropic",
    "/deepseek",
    "/groq",
    "/azure/acme",
    "/openai/deployments/d",
    "@",
    ":",
    PORT,
    ".",
    "..",
    "/",
    "//",
    "\\",
    "#",
    "?",
    "%",
    "%2f",
    "%40",
    " ",
    "\t",
    "\r\n",
    "\x00",
    "\u00e9",
    ".evil.example",
    *(f"@{host}" for host in HOSTS),
]

path_pieces = st.one_of(
    st.sampled_from(PATH_PIECES), st.text(st.characters(codec="utf-8"), max_size=4)
)
ROUTES = [
    "/v1/chat/completions",
    "/gateway/v1/chat/completions",
    "/openai/v1/chat/completions",
    "/deepseek/v1/chat/completions",
    "/azure/acme/openai/deployments/d/chat/completions",
]
pieces = st.lists(path_pieces, max_size=8).map("".join)
paths = st.one_of(
    st.sampled_from(ROUTES),
    st.builds(lambda route, extra: route + extra, st.sampled_from(ROUTES), pieces),
    st.builds(lambda route, extra: route.replace("/v1", extra, 1), st.sampled_from(ROUTES), pieces),
    pieces,
).map(lambda path: "/" + path.lstrip("/"))
origins = st.builds(
    lambda scheme, userinfo, host, port: f"{scheme}://{userinfo}{host}{port}",
    st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
    st.sampled_from(["", "user@", "api.deepseek.com@", "user:pw@"]),
    st.sampled_from(HOSTS),
    st.sampled_from(["", f":{PORT}", ":443", ":0", ":99999", ":x"]),
)
target_urls = st.one_of(
    st.sampled_from(["FAKE", "FAKE/v1", "https://api.openai.com", "https://api.deepseek.com"]),
    st.builds(lambda origin, path: origin + path, origins, paths),
    st.text(st.characters(codec="utf-8"), max_size=30),
)
fallback_headers = st.lists(
    st.fixed_dictionaries({"target-url": target_urls}), min_size=1, max_size=3
).map(lambda entries: orjson.dumps(entries).decode())


@pytest.fixture(scope="module")
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as server:
        yield server


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, fake_server: FakeProvider, listener) -> Iterator[FuzzedGateway]:
    fuzzed = FuzzedGateway(tmp_path_factory.mktemp("fuzz"), fake_server, listener)
    yield fuzzed
    fuzzed.close()


class FuzzedGateway:
    """An in-process gateway on a loop of its own: hypothesis drives it synchronously."""

    def __init__(self, data_dir, fake: FakeProvider, listener: RecordingListener) -> None:
        providers = ("openai", "anthropic", "deepseek", "groq", "azure")
        env = {
            **{f"RELAYSCOPE_{name.upper()}_BASE_URL": fake.url for name in providers},
            "RELAYSCOPE_TARGET_ALLOWLIST": f"{fake.url},api.example.org,*.example.net",
        }
        self.fake_url = fake.url
        self.listener = listener
        self.loop = asyncio.new_event_loop()
        self.inner = InProcessGateway(
            Settings.from_env(env, data_dir=data_dir), listener.resolver()
        )
        self.loop.run_until_complete(self.inner.__aenter__())
        self.loop.run_until_complete(
            self.inner.gateway.provider_keys.set(self.inner.org_id, "deepseek", "sk-stored-0001")
        )

    def fill(self, text: str) -> str:
        return text.replace(PORT, str(self.listener.port)).replace("FAKE", self.fake_url)

    def header(self, text: str) -> str:
        """As a server hands a header value over: no control characters, trimmed."""
        kept = (c for c in self.fill(text) if c == "\t" or not (c < " " or c == "\x7f"))
        return "".join(kept).strip(" \t")

    def close(self) -> None:
        self.loop.run_until_complete(self.inner.__aexit__(None, None, None))
        self.loop.close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    path=paths,
    target_url=st.none() | target_urls,
    fallbacks=st.none() | fallback_headers,
    retry=st.booleans(),
)
def test_any_target_path_and_fallbacks_reach_only_allowed_origins(
    gateway, path, target_url, fallbacks, retry
):
    headers = {}
    if target_url is not None:
        headers["Helicone-Target-Url"] = gateway.header(target_url)
    if fallbacks is not None:
        headers["Helicone-Fallbacks"] = gateway.header(fallbacks)
    if retry:
        headers.update({"Helicone-Retry-Enabled": "true", "Helicone-Retry-Max-Timeout": "1"})
    gateway.listener.reset()
    reply = gateway.loop.run_until_complete(gateway.inner.call(gateway.fill(path), headers, CHAT))
    event(f"HTTP {reply.status}")
    assert gateway.listener.connections == 0, (reply.status, gateway.listener.requests)
    assert reply.status < 500, reply.body
    if reply.status >= 400:
        error = reply.json()["error"]
        assert isinstance(error, dict) and isinstance(error.get("message"), str)
