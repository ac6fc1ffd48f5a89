"""Virtual keys through the real SDKs: the client holds only the gateway key, the
gateway attaches the key's stored credential, and each scope refuses what it should."""

from __future__ import annotations

import anthropic
import openai
import orjson
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.orgs import OrgKey

from .conftest import (
    ANTHROPIC_SECRET,
    CLAUDE,
    OPENAI_SECRET,
    Clock,
    anthropic_sdk,
    chat,
    make_key,
    openai_sdk,
    records,
)

BOTH = {"openai": OPENAI_SECRET, "anthropic": ANTHROPIC_SECRET}


def test_openai_sdk_with_only_the_gateway_key(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET})
    with openai_sdk(gateway, key) as sdk:
        assert chat(sdk).choices[0].message.content == "Echo: hello"
        stream = chat(sdk, stream=True, stream_options={"include_usage": True})
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Echo: hello"
    assert [r.headers["authorization"] for r in fake.requests] == [f"Bearer {OPENAI_SECRET}"] * 2
    assert all(key.key not in r.headers.values() for r in fake.requests)


def test_anthropic_sdk_with_only_the_gateway_key(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(gateway, org, credentials={"anthropic": ANTHROPIC_SECRET})
    with anthropic_sdk(gateway, key) as sdk:
        message = sdk.messages.create(
            model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
    assert message.content[0].text == "Echo: hi"
    (upstream,) = fake.requests
    assert upstream.headers["x-api-key"] == ANTHROPIC_SECRET
    assert "authorization" not in upstream.headers


def test_the_stored_credential_wins_over_one_the_client_sends(
    gateway: AsgiGateway, org: OrgKey, fake
):
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET})
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key="sk-client-own-key",
        default_headers=key.auth,
        max_retries=0,
    ) as sdk:
        chat(sdk)
    assert fake.requests[0].headers["authorization"] == f"Bearer {OPENAI_SECRET}"


def test_without_a_credential_for_the_provider_the_clients_own_goes(
    gateway: AsgiGateway, org: OrgKey, fake
):
    key = make_key(gateway, org, credentials={"anthropic": ANTHROPIC_SECRET})
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
        api_key="sk-client-own-key",
        default_headers=key.auth,
        max_retries=0,
    ) as sdk:
        chat(sdk)
    with openai_sdk(gateway, key) as sdk:  # the gateway key as api_key: never forwarded
        chat(sdk)
    first, second = fake.requests
    assert first.headers["authorization"] == "Bearer sk-client-own-key"
    assert "authorization" not in second.headers


def test_a_fallback_gets_the_credential_of_the_provider_it_goes_to(
    gateway: AsgiGateway, org: OrgKey, fake
):
    key = make_key(gateway, org, credentials=BOTH)
    fake.enqueue(Behaviour(status=503))
    to_claude = orjson.dumps([{"provider": "anthropic", "model": CLAUDE}]).decode()
    with openai_sdk(gateway, key) as sdk:
        answer = chat(sdk, extra_headers={"Helicone-Fallback": to_claude})
    assert answer.choices[0].message.content == "Echo: hello"
    primary, fallback = fake.requests
    assert primary.headers["authorization"] == f"Bearer {OPENAI_SECRET}"
    assert fallback.path == "/v1/messages"
    assert fallback.headers["x-api-key"] == ANTHROPIC_SECRET
    assert "authorization" not in fallback.headers


def test_a_fallback_outside_the_scopes_is_not_tried(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(gateway, org, credentials=BOTH, scopes={"providers": ["openai"]})
    fake.enqueue(Behaviour(status=503))
    to_claude = orjson.dumps([{"provider": "anthropic", "model": CLAUDE}]).decode()
    with openai_sdk(gateway, key) as sdk, pytest.raises(openai.InternalServerError) as caught:
        chat(sdk, extra_headers={"Helicone-Fallback": to_claude})
    assert fake.calls == 1
    assert "may not call provider 'anthropic'" in caught.value.response.headers["helicone-warning"]


def test_a_credential_goes_only_to_its_providers_origin(
    tmp_path_factory, fake_server: FakeProvider, store_urls, clock: Clock
):
    """A Helicone-Target-Url elsewhere (allowlisted) gets no stored credential."""
    from relayscope.testing.orgs import OrgKey  # noqa: F401  (type only)
    from relayscope.testing.process import fake_provider_env

    from .conftest import VirtualKey

    with FakeProvider() as elsewhere:
        data_dir = tmp_path_factory.mktemp("elsewhere")
        env = {
            **fake_provider_env(fake_server.url),
            "RELAYSCOPE_TARGET_ALLOWLIST": f"{fake_server.url},{elsewhere.url}",
            "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
        }
        with AsgiGateway(data_dir, env, clock=clock) as gw:
            org = gw.new_org()
            key: VirtualKey = make_key(gw, org, credentials={"openai": OPENAI_SECRET})
            with openai_sdk(gw, key) as sdk:
                chat(sdk, extra_headers={"Helicone-Target-Url": elsewhere.url})
        (seen,) = elsewhere.requests
    assert "authorization" not in seen.headers
    assert OPENAI_SECRET not in orjson.dumps(dict(seen.headers)).decode()


@pytest.mark.parametrize(
    ("scopes", "request_body", "code"),
    [
        ({"providers": ["anthropic"]}, {}, "provider_not_allowed"),
        ({"models": ["gpt-4o", "claude-*"]}, {}, "model_not_allowed"),
        ({"max_tokens": 100}, {"max_tokens": 101}, "max_tokens_exceeded"),
        ({"max_tokens": 100}, {"max_completion_tokens": 500}, "max_tokens_exceeded"),
        ({"ip_allowlist": ["10.0.0.0/8"]}, {}, "ip_not_allowed"),
    ],
)
def test_each_scope_refuses_with_a_403_that_is_logged(
    gateway: AsgiGateway, org: OrgKey, fake, scopes, request_body, code
):
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET}, scopes=scopes)
    with openai_sdk(gateway, key) as sdk, pytest.raises(openai.PermissionDeniedError) as caught:
        chat(sdk, model="gpt-4o-mini", **request_body)
    error = caught.value.response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "permission_error"
    assert fake.calls == 0
    (record,) = records(gateway, org, 1)
    assert record["status"] == 403
    assert record["key_id"] == key.id
    assert OPENAI_SECRET not in orjson.dumps(record).decode()


def test_max_output_tokens_of_the_responses_api_is_checked(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET}, scopes={"max_tokens": 64})
    with openai_sdk(gateway, key) as sdk, pytest.raises(openai.PermissionDeniedError) as caught:
        sdk.responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=65)
    assert caught.value.response.json()["error"]["code"] == "max_tokens_exceeded"
    assert caught.value.response.json()["error"]["param"] == "max_output_tokens"
    with openai_sdk(gateway, key) as sdk:
        sdk.responses.create(model="gpt-4o-mini", input="hi", max_output_tokens=64)
    assert fake.calls == 1


def test_requests_within_every_scope_go_through(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(
        gateway,
        org,
        credentials={"openai": OPENAI_SECRET},
        scopes={
            "providers": ["openai", "groq"],
            "models": ["gpt-4o*"],
            "max_tokens": 100,
            "ip_allowlist": ["10.0.0.0/8", "2001:db8::/32"],
        },
    )
    with openai_sdk(gateway, key, client=("10.1.2.3", 5000)) as sdk:
        chat(sdk, model="gpt-4o-mini", max_tokens=100)
    with openai_sdk(gateway, key, client=("2001:db8::7", 5000)) as sdk:
        chat(sdk, model="gpt-4o")
    assert fake.calls == 2
    outside = openai_sdk(gateway, key, client=("11.0.0.1", 5000))
    with outside as sdk, pytest.raises(openai.PermissionDeniedError) as caught:
        chat(sdk, model="gpt-4o")
    assert "11.0.0.1" in caught.value.message


def test_an_expired_key_gets_a_401_key_expired(
    gateway: AsgiGateway, org: OrgKey, fake, clock: Clock
):
    from datetime import UTC, datetime

    expiry = datetime.fromtimestamp(clock.now + 60, UTC).isoformat()
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET}, expires_at=expiry)
    with openai_sdk(gateway, key) as sdk:
        chat(sdk)
        clock.advance(61)
        with pytest.raises(openai.AuthenticationError) as caught:
            chat(sdk)
    assert caught.value.response.json()["error"]["code"] == "key_expired"
    assert fake.calls == 1
    statuses = sorted(r["status"] for r in records(gateway, org, 2))
    assert statuses == [200, 401]


def test_rotation_keeps_the_old_secret_for_the_grace_period(
    gateway: AsgiGateway, org: OrgKey, fake, clock: Clock
):
    from .conftest import VirtualKey

    old = make_key(gateway, org, credentials={"openai": OPENAI_SECRET})
    with gateway.api(org) as api:
        rotated = api.post(f"/api/keys/{old.id}/rotate", json={"grace_seconds": 300})
    assert rotated.status_code == 200, rotated.text
    new = VirtualKey(old.id, rotated.json()["key"])
    assert new.key != old.key
    with openai_sdk(gateway, old) as old_sdk, openai_sdk(gateway, new) as new_sdk:
        chat(old_sdk)
        chat(new_sdk)
        clock.advance(299)
        chat(old_sdk)
        clock.advance(2)
        with pytest.raises(openai.AuthenticationError) as caught:
            chat(old_sdk)
        chat(new_sdk)
    assert caught.value.response.json()["error"]["code"] == "key_expired"
    assert fake.calls == 4
    assert [r.headers["authorization"] for r in fake.requests] == [f"Bearer {OPENAI_SECRET}"] * 4


def test_rotation_without_grace_stops_the_old_secret_at_once(
    gateway: AsgiGateway, org: OrgKey, fake
):
    old = make_key(gateway, org, credentials={"openai": OPENAI_SECRET})
    with openai_sdk(gateway, old) as sdk:
        chat(sdk)
        with gateway.api(org) as api:
            assert api.post(f"/api/keys/{old.id}/rotate", json={"grace_seconds": 0}).is_success
        with pytest.raises(openai.AuthenticationError):
            chat(sdk)


def test_scopes_changed_through_the_api_apply_to_the_next_request(
    gateway: AsgiGateway, org: OrgKey, fake
):
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET})
    with openai_sdk(gateway, key) as sdk:
        chat(sdk, model="gpt-4o")
        with gateway.api(org) as api:
            changed = api.patch(f"/api/keys/{key.id}", json={"scopes": {"models": ["o1*"]}})
        assert changed.json()["data"]["scopes"]["models"] == ["o1*"]
        with pytest.raises(openai.PermissionDeniedError):
            chat(sdk, model="gpt-4o")
        with gateway.api(org) as api:
            api.patch(f"/api/keys/{key.id}", json={"credentials": {"openai": None}})
        with pytest.raises(openai.PermissionDeniedError):
            chat(sdk, model="gpt-4o")
        chat(sdk, model="o1-mini")
    assert "authorization" not in fake.requests[-1].headers, "the credential was removed"


def test_anthropic_sdk_refusals_are_openai_style_errors(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(
        gateway, org, credentials={"anthropic": ANTHROPIC_SECRET}, scopes={"max_tokens": 10}
    )
    with anthropic_sdk(gateway, key) as sdk, pytest.raises(anthropic.PermissionDeniedError) as e:
        sdk.messages.create(
            model=CLAUDE, max_tokens=11, messages=[{"role": "user", "content": "x"}]
        )
    assert e.value.response.json()["error"] == {
        "message": "max_tokens=11 is above this gateway key's limit of 10 tokens per request",
        "type": "permission_error",
        "code": "max_tokens_exceeded",
        "param": "max_tokens",
    }
    assert fake.calls == 0


def test_checking_a_virtual_key_reads_the_store_once_per_cache_ttl(
    tmp_path_factory, fake_server: FakeProvider, store_urls, clock: Clock, fake
):
    from sqlalchemy import event

    from relayscope.testing.process import fake_provider_env

    data_dir = tmp_path_factory.mktemp("hot-path")
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_KEY_CACHE_TTL": "60",
        "RELAYSCOPE_DATABASE_URL": store_urls.new(data_dir),
    }
    with AsgiGateway(data_dir, env, clock=clock) as gw:
        org = gw.new_org()
        key = make_key(
            gw, org, credentials=BOTH, scopes={"models": ["gpt-*"], "ip_allowlist": ["0.0.0.0/0"]}
        )
        key_reads: list[str] = []

        def seen(_conn, _cursor, statement, *_args) -> None:
            # The key lookup (the SQLite key watch's background poll is not per request).
            if "previous_key_hash" in statement:
                key_reads.append(statement)

        engine = gw.gateway.store.engine.sync_engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            with openai_sdk(gw, key) as sdk:
                for _ in range(20):
                    chat(sdk)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    assert fake.calls == 20
    assert len(key_reads) == 1, key_reads
