"""``/api/keys`` and ``relayscope keys``: secrets shown once, credentials never shown,
bad input refused with a 400 naming the field, and every call bounded by the org."""

from __future__ import annotations

import logging

import httpx
import openai
import pytest
from click.testing import CliRunner

from relayscope.cli import main
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.stores import store_contents
from relayscope.testing.waiting import wait_until

from .conftest import OPENAI_SECRET, VirtualKey, chat, make_key, openai_sdk, records


def test_credentials_never_appear_in_reads_records_errors_or_logs(
    gateway: AsgiGateway, org: OrgKey, fake, caplog
):
    caplog.set_level(logging.DEBUG)
    with gateway.api(org) as api:
        made = api.post(
            "/api/keys",
            json={
                "name": "bot",
                "credentials": {"openai": OPENAI_SECRET},
                "scopes": {"models": ["gpt-4o*"]},
                "metadata": {"team": "support", "budget_owner": "ana"},
            },
        )
        key = VirtualKey(made.json()["data"]["id"], made.json()["key"])
        with openai_sdk(gateway, key) as sdk:
            chat(sdk, model="gpt-4o")
            with pytest.raises(openai.PermissionDeniedError) as refused:
                chat(sdk, model="o1")
        reads = [
            made.text,
            api.get("/api/keys").text,
            api.get(f"/api/keys/{key.id}").text,
            api.patch(f"/api/keys/{key.id}", json={"name": "bot 2"}).text,
            api.post(f"/api/keys/{key.id}/rotate", json={}).text,
            refused.value.response.text,
        ]
    assert made.json()["data"]["credentials"][0]["last4"] == OPENAI_SECRET[-4:]
    assert made.json()["data"]["metadata"] == {"team": "support", "budget_owner": "ana"}
    assert all(OPENAI_SECRET not in text for text in reads)
    assert sum(key.key in text for text in reads) == 1, "the secret is shown once, when made"
    records(gateway, org, 2)
    stored = store_contents(gateway.database_url)
    assert OPENAI_SECRET.encode() not in stored
    assert key.key.encode() not in stored
    assert OPENAI_SECRET not in caplog.text
    assert fake.requests[0].headers["authorization"] == f"Bearer {OPENAI_SECRET}"


def test_another_org_can_neither_read_change_nor_use_the_key(
    gateway: AsgiGateway, org: OrgKey, fake
):
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET})
    other = create_org(gateway.database_url)
    with gateway.api(other) as api:
        assert key.id not in api.get("/api/keys").text
        answers = [
            api.get(f"/api/keys/{key.id}"),
            api.patch(f"/api/keys/{key.id}", json={"credentials": {"openai": "sk-mine"}}),
            api.post(f"/api/keys/{key.id}/rotate", json={"grace_seconds": 0}),
            api.delete(f"/api/keys/{key.id}"),
        ]
    assert [a.status_code for a in answers] == [404] * 4
    assert all(a.json()["error"]["code"] == "key_not_found" for a in answers)
    own = make_key(gateway, other, scopes={"providers": ["openai"]})
    with openai_sdk(gateway, own) as sdk:
        chat(sdk)
    with openai_sdk(gateway, key) as sdk:
        chat(sdk)  # A's key still works: B changed nothing
    b_call, a_call = fake.requests
    assert "authorization" not in b_call.headers
    assert a_call.headers["authorization"] == f"Bearer {OPENAI_SECRET}"


def test_a_proxy_key_cannot_manage_keys(gateway: AsgiGateway, org: OrgKey):
    proxy = make_key(gateway, org, role="proxy")
    with gateway.http({"Authorization": f"Bearer {proxy.key}"}) as api:
        answers = [api.get("/api/keys"), api.post("/api/keys", json={})]
    assert [a.json()["error"]["code"] for a in answers] == ["admin_key_required"] * 2


def test_a_revoked_key_stops_at_once(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(gateway, org, credentials={"openai": OPENAI_SECRET})
    with openai_sdk(gateway, key) as sdk:
        chat(sdk)
        with gateway.api(org) as api:
            assert api.delete(f"/api/keys/{key.id}").json() == {"revoked": key.id}
        with pytest.raises(openai.AuthenticationError):
            chat(sdk)


def test_an_expired_admin_key_cannot_use_the_api(gateway: AsgiGateway, org: OrgKey, clock):
    from datetime import UTC, datetime

    soon = datetime.fromtimestamp(clock.now + 10, UTC).isoformat()
    admin = make_key(gateway, org, role="admin", expires_at=soon)
    with gateway.http({"Authorization": f"Bearer {admin.key}"}) as api:
        assert api.get("/api/keys").status_code == 200
        clock.advance(11)
        expired = api.get("/api/keys")
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "key_expired"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"role": "owner"}, "role"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),
        ({"scopes": {"models": "gpt-4o"}}, "scopes"),
        ({"scopes": {"max_tokens": 0}}, "scopes"),
        ({"scopes": {"ip_allowlist": ["10.0.0.0/33"]}}, "scopes"),
        ({"scopes": {"colour": ["red"]}}, "scopes"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"credentials": {"nowhere": "sk-x"}}, "credentials"),
        ({"credentials": {"openai": None}}, "credentials"),
        ({"credentials": {"openai": "two words"}}, "key"),
        ({"secret": "x"}, "body"),
    ],
)
def test_bad_settings_are_a_400_naming_the_field(gateway: AsgiGateway, org: OrgKey, body, param):
    with gateway.api(org) as api:
        answer = api.post("/api/keys", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert "two words" not in answer.text


def test_rotation_grace_is_bounded(gateway: AsgiGateway, org: OrgKey):
    key = make_key(gateway, org)
    with gateway.api(org) as api:
        answers = [
            api.post(f"/api/keys/{key.id}/rotate", json={"grace_seconds": -1}),
            api.post(f"/api/keys/{key.id}/rotate", json={"grace_seconds": 10**9}),
            api.post(f"/api/keys/{key.id}/rotate", content=b"{"),
        ]
    assert [a.status_code for a in answers] == [400, 400, 400]


def test_the_cli_sets_scopes_credentials_and_rotates(gateway: AsgiGateway, org: OrgKey, fake):
    key = make_key(gateway, org)
    runner = CliRunner(env=gateway.env)
    where = ["--org", org.name, key.id]
    stored = runner.invoke(
        main, ["keys", "credential", "--provider", "openai", *where], input=f"{OPENAI_SECRET}\n"
    )
    assert stored.exit_code == 0, stored.output
    assert OPENAI_SECRET not in stored.output and OPENAI_SECRET[-4:] in stored.output
    scoped = runner.invoke(
        main, ["keys", "set", *where, "--model", "gpt-4o*", "--max-tokens", "50"]
    )
    assert scoped.exit_code == 0, scoped.output
    assert '"max_tokens": 50' in scoped.output
    shown = runner.invoke(main, ["keys", "show", *where])
    assert '"gpt-4o*"' in shown.output and OPENAI_SECRET not in shown.output

    with openai_sdk(gateway, key) as sdk:
        # The gateway hears of changes made elsewhere within a second (auth.watch).
        wait_until(lambda: _refused(sdk, "o1"))
        chat(sdk, model="gpt-4o")
    assert fake.requests[-1].headers["authorization"] == f"Bearer {OPENAI_SECRET}"

    rotated = runner.invoke(main, ["keys", "rotate", *where, "--grace", "0"])
    assert rotated.exit_code == 0, rotated.output
    new = VirtualKey(key.id, rotated.output.strip().splitlines()[-1])
    with openai_sdk(gateway, key) as old_sdk:
        wait_until(lambda: _refused(old_sdk, "gpt-4o", openai.AuthenticationError))
    with openai_sdk(gateway, new) as sdk:
        chat(sdk, model="gpt-4o")

    missing = runner.invoke(main, ["keys", "show", "--org", org.name, "no-such-key"])
    assert missing.exit_code != 0 and "no active key" in missing.output


def _refused(
    sdk: openai.OpenAI,
    model: str,
    error: type[openai.APIStatusError] = openai.PermissionDeniedError,
) -> bool:
    try:
        chat(sdk, model=model)
    except error:
        return True
    return False


def test_the_dashboard_refuses_an_expired_key(gateway: AsgiGateway, org: OrgKey):
    import re

    past = make_key(gateway, org, role="admin", expires_at="2020-01-01T00:00:00Z")
    current = make_key(gateway, org, role="admin", expires_at="2100-01-01T00:00:00Z")
    outcomes = []
    for key in (past, current):
        # https: the session cookies are Secure.
        with httpx.Client(transport=gateway.transport, base_url="https://gateway") as client:
            form = client.get("/dashboard/signin").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            answer = client.post("/dashboard/signin", data={"csrf_token": token, "key": key.key})
            outcomes.append(answer.status_code)
    assert outcomes[1] == 303
    assert outcomes[0] != 303
