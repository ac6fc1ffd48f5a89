"""Request webhooks through a whole gateway (in this process, reached through the ASGI
transport; its deliveries go to a real receiver on loopback): a proxied request's record
is POSTed, signed, filtered by property, retried, and never slows the request path."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import openai
import pytest

from relayscope.alerts.outbound import SIGNATURE_HEADER, verify
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey
from relayscope.testing.process import fake_provider_env
from relayscope.testing.receiver import WebhookReceiver

SECRET = "whsec-request-hooks-0123"


@pytest.fixture(scope="module")
def hooked_gateway(tmp_path_factory, fake_server) -> Iterator[AsgiGateway]:
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "RELAYSCOPE_ALERTS_DELIVERY_BACKOFF": "0.05",
        "RELAYSCOPE_ALERTS_ENABLED": "false",
    }
    with AsgiGateway(tmp_path_factory.mktemp("hooks-gateway"), env) as gateway:
        yield gateway


@pytest.fixture
def team(hooked_gateway) -> OrgKey:
    return hooked_gateway.new_org()


@pytest.fixture
def sdk(hooked_gateway, team) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        base_url=f"{hooked_gateway.url}/openai/v1",
        api_key="sk-provider",
        default_headers=team.auth,
        max_retries=0,
        http_client=hooked_gateway.sdk_http(),
    ) as client:
        yield client


def add_webhook(gateway, org: OrgKey, **fields) -> dict:
    with gateway.api(org) as client:
        response = client.post("/api/webhooks", json={"secret": SECRET, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def chat(sdk: openai.OpenAI, text: str, **headers: str) -> str:
    raw = sdk.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        extra_headers=headers,
    )
    return raw.headers["helicone-id"]


def test_a_proxied_request_is_posted_signed_without_bodies(hooked_gateway, team, sdk):
    with WebhookReceiver() as receiver:
        hook = add_webhook(hooked_gateway, team, url=f"{receiver.url}/requests")
        assert hook["secret"] == "********" and hook["include_bodies"] is False
        request_id = chat(sdk, "private words", **{"Helicone-User-Id": "alice"})
        [hit] = receiver.wait_for("/requests")
    assert verify(SECRET, hit.body, hit.headers[SIGNATURE_HEADER.lower()])
    assert hit.headers["x-relayscope-event"] == "request.logged"
    payload = hit.json()
    assert payload["type"] == "request.logged" and payload["webhook_id"] == hook["id"]
    record = payload["data"]
    assert record["id"] == request_id and record["org_id"] == team.org_id
    assert record["user_id"] == "alice" and record["status"] == 200
    assert record["total_tokens"] > 0 and record["request_model"] == "gpt-4o-mini"
    assert "request_body" not in record and b"private words" not in hit.body


def test_bodies_are_sent_when_enabled(hooked_gateway, team, sdk):
    with WebhookReceiver() as receiver:
        add_webhook(hooked_gateway, team, url=f"{receiver.url}/full", include_bodies=True)
        request_id = chat(sdk, "include me")
        [hit] = receiver.wait_for("/full")
    record = hit.json()["data"]
    assert record["id"] == request_id
    assert record["request_body"]["messages"][0]["content"] == "include me"
    assert record["response_body"]["choices"][0]["message"]["content"] == "Echo: include me"


def test_property_filter_and_retry_after_a_failure(hooked_gateway, team, sdk):
    with WebhookReceiver() as receiver:
        add_webhook(
            hooked_gateway, team, url=f"{receiver.url}/chat", properties={"feature": "chat"}
        )
        receiver.fail_next(1, status=502)
        skipped = chat(sdk, "one", **{"Helicone-Property-Feature": "search"})
        hooked_gateway.record(team, skipped)
        sent = chat(sdk, "two", **{"Helicone-Property-Feature": "chat"})
        failed, delivered = receiver.wait_for("/chat", 2)
        assert [failed.status, delivered.status] == [502, 200]
        assert failed.body == delivered.body
        assert delivered.json()["data"]["id"] == sent
        assert delivered.json()["data"]["properties"] == {"feature": "chat"}
        assert all(h.json()["data"]["id"] != skipped for h in receiver.received)


def test_a_slow_receiver_never_delays_requests_or_logging(hooked_gateway, team, sdk):
    with WebhookReceiver() as receiver:
        receiver.delay = 1.5
        add_webhook(hooked_gateway, team, url=f"{receiver.url}/slow")
        started = time.monotonic()
        ids = [chat(sdk, f"fast {i}") for i in range(6)]
        elapsed = time.monotonic() - started
        for request_id in ids:
            hooked_gateway.record(team, request_id, timeout=5)
        logged = time.monotonic() - started
        assert elapsed < 1.5, f"6 requests took {elapsed:.2f}s behind a slow receiver"
        assert logged < 3, "records are stored while the receiver is still busy"
        receiver.delay = 0
        hits = receiver.wait_for("/slow", 6, timeout=15)
        assert sorted(h.json()["data"]["id"] for h in hits) == sorted(ids)


def test_webhooks_api_validates_masks_and_deletes(hooked_gateway, team, gateway, org):
    other = hooked_gateway.new_org()
    url = f"http://127.0.0.1:9/hook/{uuid.uuid4().hex}?token=qtoken-xyzzy"
    with (
        hooked_gateway.api(team) as client,
        hooked_gateway.api(other) as stranger,
    ):
        created = add_webhook(hooked_gateway, team, url=url, properties={"tier": "gold"})
        listed = client.get("/api/webhooks")
        assert [h["id"] for h in listed.json()["data"]] == [created["id"]]
        assert listed.json()["data"][0]["url"] == "http://127.0.0.1:9/********"
        assert (
            SECRET not in listed.text
            and "qtoken-xyzzy" not in listed.text
            and "/hook/" not in listed.text
        )
        assert stranger.get("/api/webhooks").json() == {"data": []}
        assert stranger.delete(f"/api/webhooks/{created['id']}").status_code == 404
        short = client.post("/api/webhooks", json={"url": url, "secret": "short"})
        assert short.status_code == 400 and short.json()["error"]["param"] == "secret"
        bad = client.post("/api/webhooks", json={"url": url, "secret": SECRET, "bodies": True})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "bodies"
        assert client.delete(f"/api/webhooks/{created['id']}").status_code == 204
        assert client.get("/api/webhooks").json() == {"data": []}
        assert client.delete(f"/api/webhooks/{created['id']}").status_code == 404
    with gateway.api(org) as default:
        private = default.post("/api/webhooks", json={"url": url, "secret": SECRET})
    assert private.status_code == 400 and private.json()["error"]["param"] == "url"
    assert "RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS" in private.json()["error"]["message"]


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirecting_receiver_is_not_followed(hooked_gateway, team, sdk, status):
    """Documented: redirects are never followed. A followed one would reach
    ``receiver.location``; the 3xx is final (not retried either)."""
    with WebhookReceiver() as receiver:
        add_webhook(hooked_gateway, team, url=f"{receiver.url}/hook")
        receiver.fail_next(1, status=status)
        first = chat(sdk, "one")
        (redirected,) = receiver.wait_for("/hook", 1)
        assert redirected.status == status and redirected.json()["data"]["id"] == first
        # A later delivery completes after the first one's answer was handled.
        second = chat(sdk, "two")
        hits = receiver.wait_for("/hook", 2)
        assert [h.json()["data"]["id"] for h in hits] == [first, second]
        assert [h.path for h in receiver.received] == ["/hook", "/hook"]
