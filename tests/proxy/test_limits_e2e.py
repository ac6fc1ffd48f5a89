"""Body omission, header limits and back-pressure, through a whole gateway (the limits
in this process, over the ASGI transport; a slow client on a real socket)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.orgs import create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "secret prompt"}]}


def post(url: str, headers: dict, body: dict = CHAT, timeout: float = 10) -> httpx.Response:
    return httpx.post(f"{url}/openai/v1/chat/completions", headers=headers, json=body,
                      timeout=timeout)  # fmt: skip


def post_in_process(gateway: AsgiGateway, headers: dict) -> httpx.Response:
    with gateway.http() as client:
        return client.post("/openai/v1/chat/completions", headers=headers, json=CHAT)


@pytest.mark.parametrize(
    ("header", "kept", "dropped"),
    [
        ("Helicone-Omit-Request", "response_body", "request_body"),
        ("Helicone-Omit-Response", "request_body", "response_body"),
    ],
)
def test_omit_headers_keep_metadata_but_not_the_body(gateway, org, fake, header, kept, dropped):
    response = post_in_process(gateway, {**org.auth, header: "true"})
    assert response.status_code == 200
    record = gateway.record(org, response.headers["helicone-id"])
    assert record[dropped] is None
    assert record[kept] is not None
    assert record["prompt_tokens"] > 0 and record["cost_usd"] > 0
    assert fake.requests[-1].json["messages"][0]["content"] == "secret prompt"


def test_omit_header_with_a_bad_value_is_400(gateway, org, fake):
    response = post_in_process(gateway, {**org.auth, "Helicone-Omit-Request": "yes please"})
    assert response.status_code == 400
    assert "Helicone-Omit-Request" in response.json()["error"]["message"]
    assert fake.calls == 0


@pytest.fixture(scope="module")
def tight(tmp_path_factory, fake_server):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_MAX_CONCURRENCY": "2",
        "RELAYSCOPE_MAX_HEADERS": "20",
        "RELAYSCOPE_MAX_HEADER_BYTES": "2048",
    }
    with AsgiGateway(tmp_path_factory.mktemp("tight"), env) as gateway:
        yield gateway


def test_too_many_or_too_large_headers_are_431(tight, fake):
    org = tight.new_org()
    many = {**org.auth, **{f"x-extra-{i}": "v" for i in range(25)}}
    response = post_in_process(tight, many)
    assert response.status_code == 431
    assert "20 request headers" in response.json()["error"]["message"]
    huge = {**org.auth, "x-big": "v" * 3000}
    assert post_in_process(tight, huge).status_code == 431
    assert fake.calls == 0


def test_beyond_the_concurrency_limit_requests_get_503_with_retry_after(tight, fake):
    org = tight.new_org()
    fake.set_default(Behaviour(delay_s=1.0))
    with ThreadPoolExecutor(6) as pool:
        responses = list(pool.map(lambda _: post_in_process(tight, org.auth), range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2 and statuses.count(503) >= 1, statuses
    assert set(statuses) <= {200, 503}
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["code"] == "overloaded"
    fake.set_default(Behaviour())
    ok = post_in_process(tight, org.auth)
    assert ok.status_code == 200
    tight.record(org, ok.headers["helicone-id"])


@pytest.mark.e2e
def test_a_slow_client_gets_408_and_does_not_block_others(tmp_path, fake):
    import socket
    import time

    env = {**fake_provider_env(fake.url), "RELAYSCOPE_CLIENT_BODY_TIMEOUT": "0.5"}
    with GatewayProcess(tmp_path, env) as gateway:
        org = create_org(gateway.database_url)
        with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as slow:
            head = (
                "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                f"Helicone-Auth: Bearer {org.key}\r\n"
                'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model"'
            )
            started = time.monotonic()
            slow.sendall(head.encode())
            assert post(gateway.url, org.auth).status_code == 200  # others are served
            answer = b""
            while b"request_timeout" not in answer:
                chunk = slow.recv(4096)
                if not chunk:
                    break
                answer += chunk
            waited = time.monotonic() - started
        answer = answer.decode()
        assert answer.startswith("HTTP/1.1 408")
        assert answer.lower().count("content-length") == 1
        assert "request_timeout" in answer
        assert 0.4 < waited < 3
