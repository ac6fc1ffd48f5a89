"""Where the gateway connects, and where the org's stored provider keys go.

Every upstream name resolves to one loopback listener that records each connection and
each credential header it receives. Two gateways:

- ``guarded`` (the default settings): a client-chosen upstream is checked against the
  private-network guard, so nothing a client sends may reach the listener at all;
- ``open`` (``RELAYSCOPE_TARGET_ALLOW_PRIVATE_NETWORKS``, look-alike domains allowlisted):
  the client-chosen hosts are reached, and a stored key must only ever arrive with the
  Host it was stored for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import orjson
import pytest

from relayscope.config import Settings
from relayscope.testing.inprocess import InProcessGateway, Reply
from relayscope.testing.listener import Answer, RecordingListener

STORED = {
    "openai": "sk-stored-openai-0001",
    "anthropic": "sk-ant-stored-anthropic-0002",
    "deepseek": "sk-stored-deepseek-0003",
}
HOME = {
    "openai": "api.openai.com",
    "anthropic": "api.anthropic.com",
    "deepseek": "api.deepseek.com",
}
CHAT = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
EMBED = orjson.dumps({"model": "text-embedding-3-small", "input": "hi"})
RETRY = {
    "Helicone-Retry-Enabled": "true",
    "Helicone-Retry-Num": "1",
    "Helicone-Retry-Min-Timeout": "1",
    "Helicone-Retry-Max-Timeout": "5",
}
LOOK_ALIKES = (
    "https://api.deepseek.com.evil.example",
    "https://api.anthropic.com.example.net",
    "https://evilapi.openai.com",
    "https://api.openai.com.evil.example/v1",
)


def fallbacks(*urls: str) -> dict[str, str]:
    return {"Helicone-Fallbacks": orjson.dumps([{"target-url": url} for url in urls]).decode()}


def seed(*entries: dict[str, str]) -> dict[str, str]:
    return {"Helicone-Fallback": orjson.dumps(list(entries)).decode()}


def attacks(port: int) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(name, path, headers, body): every route a client can name an upstream through."""
    hosts_in_path = [
        "@127.0.0.1:{port}",
        ".evil.example",
        "@evil.example",
        ":{port}@127.0.0.1",
        "@2130706433:{port}",
        "@0x7f.1:{port}",
        "@0177.0.0.1:{port}",
        "@[::1]:{port}",
        "@[::ffff:127.0.0.1]:{port}",
        "\\@127.0.0.1:{port}",
    ]
    cases = []
    for bad in hosts_in_path:
        path = "/gateway" + bad.format(port=port) + "/v1/chat/completions"
        cases += [
            (
                f"target-url api.example.org {bad}",
                path,
                {"Helicone-Target-Url": "https://api.example.org"},
                CHAT,
            ),
            (
                f"target-url public provider {bad}",
                path,
                {"Helicone-Target-Url": "https://api.openai.com"},
                CHAT,
            ),
            (
                f"fallbacks to deepseek {bad}",
                path,
                fallbacks("https://api.openai.com", "https://api.deepseek.com"),
                CHAT,
            ),
            (
                f"target-url and fallbacks to deepseek {bad}",
                path,
                {
                    "Helicone-Target-Url": "https://api.openai.com",
                    **fallbacks("https://api.deepseek.com"),
                    **RETRY,
                },
                CHAT,
            ),
        ]
    for url in LOOK_ALIKES:
        cases += [
            (
                f"target-url {url}",
                "/v1/chat/completions",
                {"Helicone-Target-Url": url, **RETRY},
                CHAT,
            ),
            (
                f"fallback entry {url}",
                "/gateway/v1/chat/completions",
                {**fallbacks("https://api.example.org", url), **RETRY},
                CHAT,
            ),
            (
                f"fallback entry after a provider route {url}",
                "/deepseek/v1/chat/completions",
                fallbacks(url),
                CHAT,
            ),
            (
                f"seed fallbacks from {url}",
                "/v1/chat/completions",
                {
                    "Helicone-Target-Url": url,
                    **seed(
                        {"provider": "anthropic", "model": "claude-3-5-haiku-latest"},
                        {"provider": "deepseek", "model": "deepseek-chat"},
                    ),
                    **RETRY,
                },
                CHAT,
            ),
        ]
    # A base path that does not end at a segment boundary must not leak into another
    # provider's URL: https://api.openai.com + ".evil.example/v1/embeddings".
    cases.append(
        (
            "seed fallback below a look-alike base path",
            "/v1/embeddings",
            {
                "Helicone-Target-Url": "https://api.groq.com/openai.evil.example",
                **seed({"provider": "openai", "model": "text-embedding-3-small"}),
            },
            EMBED,
        )
    )
    for literal in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::1]", "[::ffff:7f00:1]"):
        url = f"http://{literal}:{port}"
        cases += [
            (f"target-url {url}", "/v1/chat/completions", {"Helicone-Target-Url": url}, CHAT),
            (
                f"fallbacks {url}",
                "/gateway/v1/chat/completions",
                fallbacks("https://api.example.org", url),
                CHAT,
            ),
        ]
    return cases


def unclean(reply: Reply) -> bytes | None:
    """The body of an answer that is a 500, or a 4xx without the OpenAI-style error body."""
    if reply.status == 500:
        return reply.body
    if reply.status in (400, 404) and not {"message", "type", "code"} <= set(reply.json()["error"]):
        return reply.body
    return None


def stored_keys_seen_away_from_home(listener: RecordingListener) -> list[tuple[str, str | None]]:
    leaks = []
    for seen in listener.requests:
        for provider, key in STORED.items():
            sent = any(key in value for value in seen.credentials.values())
            home = seen.host == HOME[provider] and seen.server_name in (None, HOME[provider])
            if sent and not home:
                leaks.append((provider, seen.host))
    return leaks


@pytest.fixture(scope="module")
def listener() -> Iterator[RecordingListener]:
    with RecordingListener() as server:
        yield server


async def gateway_for(tmp_path, listener: RecordingListener, *, open_networks: bool):
    env = {"RELAYSCOPE_TARGET_ALLOWLIST": "api.example.org"}
    if open_networks:
        env = {
            "RELAYSCOPE_TARGET_ALLOWLIST": ",".join(
                [
                    "api.example.org",
                    "api.example.org:8443",
                    "*.evil.example",
                    "*.example.net",
                    "*.openai.com",
                ]
            ),
            "RELAYSCOPE_TARGET_ALLOW_PRIVATE_NETWORKS": "true",
        }
    env["RELAYSCOPE_RETRY_PROVIDER_KEY_TTL"] = "0"
    gateway = InProcessGateway(Settings.from_env(env, data_dir=tmp_path), listener.resolver())
    await gateway.__aenter__()
    for provider, key in STORED.items():
        await gateway.gateway.provider_keys.set(gateway.org_id, provider, key)
    return gateway


@pytest.fixture
async def guarded(tmp_path, listener) -> AsyncIterator[InProcessGateway]:
    listener.reset()
    gateway = await gateway_for(tmp_path, listener, open_networks=False)
    yield gateway
    await gateway.__aexit__(None, None, None)


@pytest.fixture
async def open_gateway(tmp_path, listener) -> AsyncIterator[InProcessGateway]:
    listener.reset()
    listener.answer = Answer(status=503, body=b'{"error": {"message": "busy"}}')
    gateway = await gateway_for(tmp_path, listener, open_networks=True)
    yield gateway
    await gateway.__aexit__(None, None, None)


async def test_nothing_a_client_sends_reaches_an_internal_address(guarded, listener):
    failures = []
    for name, path, headers, body in attacks(listener.port):
        reply = await guarded.call(path, headers, body)
        if listener.connections or reply.status < 400 or unclean(reply):
            failures.append((name, reply.status, listener.connections, listener.requests))
        listener.reset()
    assert failures == [], "\n".join(map(str, failures))


async def test_stored_keys_only_go_to_the_origin_they_were_stored_for(open_gateway, listener):
    failures = []
    for name, path, headers, body in attacks(listener.port):
        reply = await open_gateway.call(path, headers, body)
        if (leaks := stored_keys_seen_away_from_home(listener)) or unclean(reply):
            failures.append((name, reply.status, leaks))
        listener.reset()
        listener.answer = Answer(status=503, body=b'{"error": {"message": "busy"}}')
    assert failures == [], "\n".join(map(str, failures))


async def test_stored_keys_do_reach_their_own_provider(open_gateway, listener):
    """The control for the test above: the listener does see a key sent where it belongs."""
    gateway_form = fallbacks("https://api.example.org", "https://api.deepseek.com")
    assert (
        await open_gateway.call("/gateway/v1/chat/completions", gateway_form, CHAT)
    ).status == 503
    translated = seed({"provider": "anthropic", "model": "claude-3-5-haiku-latest"})
    assert (await open_gateway.call("/openai/v1/chat/completions", translated, CHAT)).status == 503
    received = {(seen.host, key) for seen in listener.requests for key in seen.credentials.values()}
    assert ("api.deepseek.com", f"Bearer {STORED['deepseek']}") in received
    assert ("api.anthropic.com", STORED["anthropic"]) in received
    assert stored_keys_seen_away_from_home(listener) == []


async def test_redirects_are_passed_back_never_followed(open_gateway, listener):
    elsewhere = "https://api.deepseek.com.evil.example/v1/chat/completions"
    listener.answer = Answer(status=307, headers=(("location", elsewhere),), body=b"")
    entries = [
        {"target-url": "https://api.example.org", "onCodes": [307]},
        {"target-url": "https://api.deepseek.com"},
    ]
    headers = {"Helicone-Fallbacks": orjson.dumps(entries).decode(), **RETRY}
    reply = await open_gateway.call("/gateway/v1/chat/completions", headers, CHAT)
    assert reply.status == 307
    assert reply.headers["location"] == elsewhere
    assert [seen.host for seen in listener.requests] == ["api.example.org", "api.deepseek.com"]
    assert listener.requests[1].credentials == {"authorization": f"Bearer {STORED['deepseek']}"}
    assert stored_keys_seen_away_from_home(listener) == []


async def test_the_clients_own_key_follows_a_fallback_only_to_the_same_origin(
    open_gateway, listener
):
    headers = {
        "Authorization": "Bearer sk-client-own-key",
        **fallbacks("https://api.example.org", "https://api.example.org:8443"),
    }
    reply = await open_gateway.call("/gateway/v1/chat/completions", headers, CHAT)
    assert reply.status == 503
    sent = [(seen.host, seen.credentials) for seen in listener.requests]
    # The second entry is another origin with no credentials of its own: skipped.
    assert sent == [("api.example.org", {"authorization": "Bearer sk-client-own-key"})]
