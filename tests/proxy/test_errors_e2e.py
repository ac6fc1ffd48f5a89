"""Bad input, provider failures and refused targets, through a real gateway."""

from __future__ import annotations

import subprocess
import sys

import httpx
import openai
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.process import clean_env, fake_provider_env, free_port
from relayscope.testing.waiting import wait_until

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def post(gateway, path="/openai/v1/chat/completions", headers=None, **kwargs):
    if isinstance(gateway, AsgiGateway):
        with gateway.http() as client:
            return client.post(path, headers=headers or {}, **kwargs)
    return gateway.post(path, headers=headers or {}, timeout=10, **kwargs)


def assert_error(response: httpx.Response, status: int, mentions: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    # Header names are case-insensitive, and property names are stored lower case.
    assert mentions.lower() in error["message"].lower()
    return error


@pytest.mark.parametrize(
    ("auth", "problem"),
    [
        (None, "Missing"),
        ("sk-relayscope-abc", "Malformed"),
        ("Basic sk-relayscope-abc", "Malformed"),
        ("Bearer", "Malformed"),
        ("Bearer sk-relayscope-not-a-real-key", "Unknown"),
        ("Bearer sk-openai-key", "Invalid"),
    ],
)
def test_auth_failures_are_401_naming_the_header(gateway, fake, auth, problem):
    headers = {"Helicone-Auth": auth} if auth else {}
    error = assert_error(post(gateway, headers=headers, json=CHAT), 401, "Helicone-Auth")
    assert problem in error["message"]
    assert error["type"] == "authentication_error"
    assert fake.calls == 0


def test_revoked_key_stops_working(gateway, org, fake):
    assert post(gateway, headers=org.auth, json=CHAT).status_code == 200
    subprocess.run(
        [sys.executable, "-m", "relayscope", "keys", "revoke", org.key_id],
        env={**clean_env(), **gateway.env},
        check=True,
        capture_output=True,
    )
    response = wait_until(
        lambda: (r := post(gateway, headers=org.auth, json=CHAT)).status_code == 401 and r,
        timeout=5,
    )
    assert_error(response, 401, "revoked")


def test_orgs_cannot_read_each_others_records(gateway, fake):
    alice, bob = gateway.new_org(), gateway.new_org()
    response = post(gateway, headers=alice.auth, json=CHAT)
    request_id = response.headers["helicone-id"]
    gateway.record(alice, request_id)
    with gateway.api(bob) as api:
        assert api.get(f"/api/requests/{request_id}").status_code == 404
        assert request_id not in [r["id"] for r in api.get("/api/requests").json()["data"]]


@pytest.mark.parametrize(
    ("header", "value", "mentions"),
    [
        ("Helicone-User-Id", "u" * 300, "Helicone-User-Id"),
        ("Helicone-Session-Path", "no-leading-slash", "Helicone-Session-Path"),
        ("Helicone-Property-Feature", "x" * 5000, "Helicone-Property-Feature"),
        ("Helicone-Session-Name", "tab\there", "Helicone-Session-Name"),
    ],
)
def test_invalid_tag_headers_are_400_naming_the_header(gateway, org, fake, header, value, mentions):
    response = post(gateway, headers={**org.auth, header: value}, json=CHAT)
    assert_error(response, 400, mentions)
    assert fake.calls == 0


def test_unknown_provider_is_404_naming_it(gateway, org):
    error = assert_error(
        post(gateway, "/nosuch/v1/chat", headers=org.auth, json=CHAT), 404, "nosuch"
    )
    assert error["code"] == "unknown_provider"


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254",
        "http://127.0.0.1:6379",
        "https://evil.example.com",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1",
        "not a url",
    ],
)
def test_target_url_outside_the_allowlist_is_refused(gateway, org, fake, target):
    headers = {**org.auth, "Helicone-Target-Url": target}
    response = post(gateway, "/v1/chat/completions", headers=headers, json=CHAT)
    assert_error(response, 400, "Helicone-Target-Url")
    assert fake.calls == 0


def test_allowlisted_target_url_is_proxied(gateway, org, fake):
    headers = {**org.auth, "Helicone-Target-Url": fake.url, "Authorization": "Bearer sk-x"}
    response = post(gateway, "/v1/chat/completions", headers=headers, json=CHAT)
    assert response.status_code == 200
    assert fake.requests[-1].path == "/v1/chat/completions"
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["prompt_tokens"] > 0


def test_provider_errors_pass_through_exactly_and_are_logged(gateway, org, fake):
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}}
    fake.enqueue(Behaviour(status=429, body=body, headers={"retry-after": "7"}))
    response = post(gateway, headers=org.auth, json=CHAT)
    assert response.status_code == 429
    assert response.json() == body
    assert response.headers["retry-after"] == "7"
    assert response.headers["helicone-status"] == "error"
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["status"] == 429
    assert record["error"] == "Rate limit reached"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_provider_redirect_is_passed_back_never_followed(gateway, org, fake, status):
    """Documented: "Redirects are never followed". The fake provider redirects to
    itself: a followed redirect would show as a second request there."""
    elsewhere = f"{fake.url}/v1/chat/completions?followed=1"
    fake.enqueue(Behaviour(status=status, body=b"moved", headers={"location": elsewhere}))
    response = post(gateway, headers=org.auth, json=CHAT, follow_redirects=False)
    assert response.status_code == status
    assert response.headers["location"] == elsewhere
    assert [r.path for r in fake.requests] == ["/v1/chat/completions"]
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["status"] == status


def test_sdk_sees_provider_error_as_the_provider_sent_it(gateway, org, fake):
    fake.enqueue(Behaviour(status=500))
    with (
        openai.OpenAI(
            base_url=f"{gateway.url}/openai/v1",
            http_client=gateway.sdk_http(),
            api_key="sk-x",
            default_headers=org.auth,
            max_retries=0,
        ) as sdk,
        pytest.raises(openai.InternalServerError) as raised,
    ):
        sdk.chat.completions.create(**CHAT)
    assert raised.value.status_code == 500


@pytest.fixture(scope="module")
def strict_gateway(tmp_path_factory, fake_server, store_urls):
    """A gateway with tight limits and one provider pointing at a closed port."""
    data_dir = tmp_path_factory.mktemp("strict")
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
        "RELAYSCOPE_MISTRAL_BASE_URL": f"http://127.0.0.1:{free_port()}",
        "RELAYSCOPE_UPSTREAM_READ_TIMEOUT": "0.5",
        "RELAYSCOPE_MAX_BODY_BYTES": "4096",
    }
    with AsgiGateway(data_dir, env) as gateway:
        yield gateway


def strict_org(gateway):
    from relayscope.testing.orgs import create_org

    return create_org(gateway.database_url)


def test_unreachable_upstream_is_502_and_logged(strict_gateway, fake):
    org = strict_org(strict_gateway)
    response = post(strict_gateway, "/mistral/v1/chat/completions", headers=org.auth, json=CHAT)
    error = assert_error(response, 502, "mistral")
    assert error["type"] == "upstream_error"
    record = strict_gateway.record(org, response.headers["helicone-id"])
    assert record["status"] == 502 and "mistral" in record["error"]


def test_upstream_timeout_is_504_and_logged(strict_gateway, fake):
    org = strict_org(strict_gateway)
    fake.enqueue(Behaviour(delay_s=2))
    response = post(strict_gateway, headers=org.auth, json=CHAT)
    assert_error(response, 504, "Timed out")
    record = strict_gateway.record(org, response.headers["helicone-id"])
    assert record["status"] == 504


def test_oversized_body_is_413(strict_gateway, fake):
    org = strict_org(strict_gateway)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    assert_error(post(strict_gateway, headers=org.auth, json=big), 413, "4096 bytes")
    assert fake.calls == 0


@pytest.fixture(scope="module")
def named_target_gateway(tmp_path_factory, fake_server):
    """Allowlists the fake provider by host name (localhost), not by IP."""
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_TARGET_ALLOWLIST": f"http://localhost:{fake_server.port}",
    }
    with AsgiGateway(tmp_path_factory.mktemp("named"), env) as gateway:
        yield gateway


def test_allowlisted_name_resolving_to_an_internal_address_is_refused(named_target_gateway, fake):
    org = strict_org(named_target_gateway)
    headers = {**org.auth, "Helicone-Target-Url": f"http://localhost:{fake.port}"}
    response = post(named_target_gateway, "/v1/chat/completions", headers=headers, json=CHAT)
    error = assert_error(response, 400, "Helicone-Target-Url")
    assert "internal address" in error["message"]
    assert fake.calls == 0


def test_operator_can_allow_private_networks_explicitly(tmp_path, fake):
    env = {
        **fake_provider_env(fake.url),
        "RELAYSCOPE_TARGET_ALLOWLIST": f"http://localhost:{fake.port}",
        "RELAYSCOPE_TARGET_ALLOW_PRIVATE_NETWORKS": "true",
    }
    with AsgiGateway(tmp_path, env) as gateway:
        org = strict_org(gateway)
        headers = {**org.auth, "Helicone-Target-Url": f"http://localhost:{fake.port}"}
        response = post(gateway, "/v1/chat/completions", headers=headers, json=CHAT)
    assert response.status_code == 200
    assert fake.calls == 1
