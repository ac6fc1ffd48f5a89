"""Redaction, retention, deletion and export through a real gateway."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import create_org
from relayscope.testing.process import clean_env, fake_provider_env
from relayscope.testing.seeding import seed_records
from relayscope.testing.waiting import wait_until


def chat(
    gateway: AsgiGateway,
    org,
    content: str,
    user: str | None = None,
    request_id: str | None = None,
) -> str:
    headers = {**org.auth, **({"Helicone-User-Id": user} if user else {})}
    if request_id is not None:
        headers["Helicone-Request-Id"] = request_id
    response = gateway.post(
        "/openai/v1/chat/completions",
        headers=headers,
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}]},
        timeout=10,
    )
    assert response.status_code == 200
    return response.headers["helicone-id"]


def test_redaction_rules_change_what_is_stored_not_what_is_sent(gateway, org, fake):
    with gateway.api(org) as api:
        created = api.post("/api/redaction-rules", json={"kind": "detector", "value": "email"})
        assert created.status_code == 201
        custom = {"kind": "pattern", "value": r"PRJ-\d+", "replacement": "<project>"}
        assert api.post("/api/redaction-rules", json=custom).status_code == 201
        assert len(api.get("/api/redaction-rules").json()["data"]) == 2

    request_id = chat(gateway, org, "mail bob@example.com about PRJ-42")
    assert fake.requests[-1].json["messages"][0]["content"] == "mail bob@example.com about PRJ-42"
    record = gateway.record(org, request_id)
    stored = record["request_body"]["messages"][0]["content"]
    assert stored == "mail [REDACTED] about <project>"
    assert "bob@example.com" not in orjson.dumps(record["response_body"]).decode()

    other = gateway.new_org()
    other_id = chat(gateway, other, "mail bob@example.com")
    assert (
        "bob@example.com"
        in gateway.record(other, other_id)["request_body"]["messages"][0]["content"]
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"kind": "detector", "value": "ssn"}, "value"),
        ({"kind": "pattern", "value": "("}, "value"),
        # Found by schemathesis-style probing: these raised OverflowError / RecursionError (500).
        ({"kind": "pattern", "value": "a{4294967296}"}, "value"),
        ({"kind": "pattern", "value": "(" * 499}, "value"),
        ({"kind": "nope", "value": "x"}, "kind"),
        ({"kind": 3, "value": "x"}, "kind"),
    ],
)
def test_bad_redaction_rules_are_400_naming_the_field(gateway, org, body, param):
    with gateway.api(org) as api:
        response = api.post("/api/redaction-rules", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize("days", [0, 36_501, 10**12, "30", True])
def test_retention_out_of_range_is_400_and_changes_nothing(gateway, org, days):
    with gateway.api(org) as api:
        assert api.put("/api/data/retention", json={"days": 30}).status_code == 200
        # 10**12 days used to be stored, then broke every org's retention sweep (OverflowError).
        response = api.put("/api/data/retention", json={"days": days})
        assert response.status_code == 400
        assert response.json()["error"]["param"] == "days"
        assert api.get("/api/data/retention").json() == {"data": {"days": 30}}


def test_deleting_a_user_removes_their_records_only(gateway, fake):
    org, other = gateway.new_org(), gateway.new_org()
    alice = [chat(gateway, org, f"hi {i}", user="alice") for i in range(3)]
    bob = chat(gateway, org, "hi", user="bob")
    other_alice = chat(gateway, other, "hi", user="alice")
    for rid in [*alice, bob]:
        gateway.record(org, rid)
    gateway.record(other, other_alice)

    with gateway.api(org) as api:
        report = api.delete("/api/data/users/alice").json()["data"]["deleted"]
        assert report["requests"] == 3
        assert api.get("/api/requests", params={"user_id": "alice"}).json()["data"] == []
        for rid in alice:
            assert api.get(f"/api/requests/{rid}").status_code == 404
        assert api.get(f"/api/requests/{bob}").status_code == 200
        exported = api.get("/api/data/export", params={"user_id": "alice"}).text
        assert exported == ""
    with gateway.api(other) as api:
        assert api.get(f"/api/requests/{other_alice}").status_code == 200


def test_deleting_and_exporting_stay_in_the_org_when_another_has_the_same_id(gateway, fake):
    org, other = gateway.new_org(), gateway.new_org()
    shared = str(uuid.uuid4())
    for who in (other, org):
        assert chat(gateway, who, f"from {who.name}", "alice", shared) == shared
        gateway.record(who, shared)

    with gateway.api(org) as api:
        assert api.delete("/api/data/users/alice").json()["data"]["deleted"]["requests"] == 1
        assert api.get(f"/api/requests/{shared}").status_code == 404
    with gateway.api(other) as api:
        kept = api.get(f"/api/requests/{shared}").json()["data"]
        assert kept["request_body"]["messages"][0]["content"] == f"from {other.name}"
        exported = [orjson.loads(line) for line in api.get("/api/data/export").text.splitlines()]
    assert [(line["id"], line["org_id"]) for line in exported] == [(shared, other.org_id)]


def test_export_is_json_lines_of_the_callers_org(gateway, fake):
    org, other = gateway.new_org(), gateway.new_org()
    ids = [chat(gateway, org, f"export {i}", user="u1") for i in range(3)]
    chat(gateway, other, "not mine")
    for rid in ids:
        gateway.record(org, rid)
    with gateway.api(org) as api:
        response = api.get("/api/data/export")
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in response.text.splitlines()]
    assert [line["id"] for line in lines] == ids
    assert lines[0]["request_body"]["messages"][0]["content"] == "export 0"
    assert {line["org_id"] for line in lines} == {org.org_id}


def test_retention_deletes_old_records_in_the_background(tmp_path, fake_server):
    env = {
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_GOVERNANCE_RETENTION_INTERVAL": "0.2",
        "RELAYSCOPE_GOVERNANCE_RULES_REFRESH_INTERVAL": "0.2",
    }
    with AsgiGateway(tmp_path, env) as gateway:
        org, keep_all = gateway.new_org(), gateway.new_org()
        now = datetime.now(UTC)
        old = seed_records(gateway.database_url, org.org_id, [now - timedelta(days=40)] * 5)
        recent = seed_records(gateway.database_url, org.org_id, [now - timedelta(days=1)] * 2)
        untouched = seed_records(gateway.database_url, keep_all.org_id, [now - timedelta(days=400)])
        with gateway.api(org) as api:
            assert api.put("/api/data/retention", json={"days": 30}).json()["data"]["days"] == 30
            assert api.put("/api/data/retention", json={"days": 0}).status_code == 400

            def gone() -> bool:
                return all(api.get(f"/api/requests/{i}").status_code == 404 for i in old)

            wait_until(gone, timeout=10)
            assert all(api.get(f"/api/requests/{i}").status_code == 200 for i in recent)
        gateway.record(keep_all, untouched[0])


@pytest.mark.e2e
def test_cli_delete_and_export(tmp_path, fake_server):
    # The CLI runs as a process; the gateway that stored the record and reads after it
    # runs in this one, on the same store.
    with AsgiGateway(tmp_path, fake_provider_env(fake_server.url)) as gateway:
        org = create_org(gateway.database_url, f"cli-{uuid.uuid4().hex[:6]}")
        rid = chat(gateway, org, "cli data", user="carol")
        gateway.record(org, rid)

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "relayscope", *args],
                env={**clean_env(), **gateway.env},
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )

        exported = cli("data", "export", "--org", org.name, "--user-id", "carol").stdout
        assert orjson.loads(exported.splitlines()[0])["id"] == rid
        assert (
            "deleted 1 requests"
            in cli("data", "delete", "--org", org.name, "--user-id", "carol").stdout
        )
        with gateway.api(org) as api:
            assert api.get(f"/api/requests/{rid}").status_code == 404


def test_redaction_covers_prompt_variables(gateway, org, fake):
    with gateway.api(org) as api:
        api.post("/api/redaction-rules", json={"kind": "detector", "value": "email"})
    response = gateway.post(
        "/openai/v1/chat/completions",
        headers={
            **org.auth,
            "Helicone-Prompt-Id": "greeting",
            "Helicone-Prompt-Variables": '{"contact": "ann@example.org"}',
        },
        json={
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Write to {{contact}}"}],
        },
        timeout=10,
    )
    assert response.status_code == 200
    assert fake.requests[-1].json["messages"][0]["content"] == "Write to ann@example.org"
    record = gateway.record(org, response.headers["helicone-id"])
    assert record["prompt_variables"] == {"contact": "[REDACTED]"}
    assert "ann@example.org" not in orjson.dumps(record).decode()
