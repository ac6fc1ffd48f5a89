"""The audit log: every admin change through the API, allowed or refused, with who made
it and when; secrets never kept; reads and application calls not recorded; each org
sees only its own."""

from __future__ import annotations

import orjson
import pytest

from relayscope.auth.keys import ADMIN, PROXY
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org

SECRET = "whsec-audit-0123456789abcdef"
HOOK_TOKEN = "T0123/B0456/hook-token-never-kept"


def audit_log(gateway: AsgiGateway, org: OrgKey, **params: str) -> dict:
    with gateway.api(org) as api:
        response = api.get("/api/audit-log", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def named_key(gateway: AsgiGateway, org: OrgKey, name: str, role: str) -> OrgKey:
    info, key = gateway.run(gateway.gateway.store.create_key(org.org_id, name, role=role))
    return OrgKey(name=org.name, org_id=org.org_id, key_id=info.id, key=key)


def test_a_change_is_recorded_with_who_what_and_when_and_no_secret(gateway, org):
    ops = named_key(gateway, org, "ops-laptop", ADMIN)
    with gateway.api(ops) as api:
        created = api.post(
            "/api/webhooks",
            json={"url": f"https://hooks.example.com/services/{HOOK_TOKEN}", "secret": SECRET},
        )
        assert created.status_code == 201, created.text
        hook_id = created.json()["data"]["id"]
        assert api.delete(f"/api/webhooks/{hook_id}").status_code == 204

    answer = audit_log(gateway, org)
    deleted, made = answer["data"]
    assert (deleted["method"], deleted["path"], deleted["status"]) == (
        "DELETE",
        f"/api/webhooks/{hook_id}",
        204,
    )
    assert (made["method"], made["path"], made["status"]) == ("POST", "/api/webhooks", 201)
    for entry in (deleted, made):
        assert entry["actor"] == {"key_id": ops.key_id, "name": "ops-laptop", "role": ADMIN}
        assert entry["via"] == "api" and entry["outcome"] == "changed"
    assert made["at"] <= deleted["at"]
    assert made["detail"] == {"url": "https://hooks.example.com/********", "secret": "***"}
    raw = orjson.dumps(answer).decode()
    assert SECRET not in raw and HOOK_TOKEN not in raw
    assert answer["next"] is None


def test_a_refused_change_is_recorded_as_refused(gateway, org):
    app_key = named_key(gateway, org, "checkout-service", PROXY)
    with gateway.api(app_key) as api:
        refused = api.post("/api/rate-limits", json={"policy": "100000;w=60"})
    assert refused.status_code == 403

    [entry] = audit_log(gateway, org)["data"]
    assert entry["actor"] == {"key_id": app_key.key_id, "name": "checkout-service", "role": PROXY}
    assert entry["status"] == 403 and entry["outcome"] == "refused"
    assert entry["detail"] == {"policy": "100000;w=60"}


def test_an_invalid_change_is_recorded_as_failed(gateway, org):
    with gateway.api(org) as api:
        assert api.post("/api/rate-limits", json={"policy": "lots"}).status_code == 400
    [entry] = audit_log(gateway, org)["data"]
    assert entry["status"] == 400 and entry["outcome"] == "failed"


def test_reads_and_application_calls_are_not_changes(gateway, org):
    with gateway.api(org) as api:
        assert api.get("/api/webhooks").status_code == 200
        assert api.get("/api/rate-limits").status_code == 200
        # A score an application posts on its own request is data, not configuration.
        api.post("/api/request/00000000-0000-0000-0000-000000000000/score", json={"scores": {}})
    assert audit_log(gateway, org)["data"] == []


def test_each_org_reads_only_its_own_log_and_only_with_an_admin_key(gateway, org):
    other = create_org(gateway.database_url)
    with gateway.api(org) as api:
        assert api.post("/api/rate-limits", json={"policy": "50;w=60"}).status_code == 201
    assert audit_log(gateway, other)["data"] == []
    assert len(audit_log(gateway, org)["data"]) == 1

    reader = named_key(gateway, org, "reader", PROXY)
    with gateway.api(reader) as api:
        refused = api.get("/api/audit-log")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "admin_key_required"


def test_pages_go_back_in_time_without_gaps_or_repeats(gateway, org):
    with gateway.api(org) as api:
        for limit in (10, 20, 30, 40, 50):
            assert api.post("/api/rate-limits", json={"policy": f"{limit};w=60"}).is_success
    first = audit_log(gateway, org, limit="2")
    second = audit_log(gateway, org, limit="2", before=first["next"])
    third = audit_log(gateway, org, limit="2", before=second["next"])
    policies = [e["detail"]["policy"] for page in (first, second, third) for e in page["data"]]
    assert policies == ["50;w=60", "40;w=60", "30;w=60", "20;w=60", "10;w=60"]
    assert third["next"] is None


@pytest.mark.parametrize(
    ("params", "problem"),
    [({"before": "yesterday"}, "before"), ({"limit": "0"}, "limit"), ({"actor": "x"}, "actor")],
)
def test_bad_parameters_are_a_400_naming_them(gateway, org, params, problem):
    with gateway.api(org) as api:
        response = api.get("/api/audit-log", params=params)
    assert response.status_code == 400
    assert problem in response.json()["error"]["message"]


def test_a_large_upload_is_noted_not_copied(gateway, org):
    rows = [{"input": "x" * 200, "expected": "y"} for _ in range(50)]
    with gateway.api(org) as api:
        response = api.post("/api/datasets", json={"name": "big", "rows": rows})
    [entry] = audit_log(gateway, org)["data"]
    assert entry["status"] == response.status_code
    assert entry["detail"]["note"].endswith("bytes of JSON, too large to keep")
