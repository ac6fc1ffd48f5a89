"""``/api/rate-limits``: standing policies that clients cannot leave out, scoped to their org."""

from __future__ import annotations

import httpx
import openai
import pytest

from relayscope.testing.orgs import create_org
from relayscope.testing.waiting import wait_until

POLICY = "Helicone-RateLimit-Policy"


def test_a_standing_policy_applies_without_the_header_until_deleted(rl_gateway, rl_org, fake):
    with rl_gateway.api(rl_org) as api:
        created = api.post("/api/rate-limits", json={"policy": "2;w=60;u=org"})
        assert created.status_code == 201
        policy = created.json()["data"]
        assert policy["policy"] == "2;w=60;u=request"
        assert (policy["quota"], policy["window"], policy["unit"], policy["segment"]) == (
            2,
            60,
            "request",
            None,
        )
        assert policy["org_id"] == rl_org.org_id and policy["key_id"] is None
        assert api.get("/api/rate-limits").json()["data"] == [policy]

        sent = []

        def refused_once() -> httpx.Response | None:
            sent.append(rl_gateway.chat(rl_org))
            return sent[-1] if sent[-1].status_code == 429 else None

        refused = wait_until(refused_once)
        assert refused.headers["helicone-ratelimit-policy"] == "2;w=60;u=request"
        assert refused.headers["retry-after"]
        # The gateway reads standing policies in the background (every 0.1 s here): a
        # request before it has read this one is not limited. Under it, exactly the quota
        # of requests reaches the provider.
        limited = [r.status_code for r in sent if "helicone-ratelimit-policy" in r.headers]
        assert limited == [200, 200, 429]
        assert fake.calls == len(sent) - 1

        deleted = api.delete(f"/api/rate-limits/{policy['id']}")
        assert deleted.status_code == 200 and deleted.json()["data"]["deleted"] is True
        assert api.get("/api/rate-limits").json()["data"] == []
        served = wait_until(lambda: (r := rl_gateway.chat(rl_org)).status_code == 200 and r)
        assert "helicone-ratelimit-policy" not in served.headers
        assert api.delete(f"/api/rate-limits/{policy['id']}").status_code == 404


def test_setting_the_same_policy_again_changes_its_quota(rl_gateway, rl_org):
    with rl_gateway.api(rl_org) as api:
        first = api.post("/api/rate-limits", json={"policy": "5;w=60;s=user"})
        again = api.post("/api/rate-limits", json={"policy": "7;w=60;s=user"})
        other_window = api.post("/api/rate-limits", json={"policy": "7;w=3600;s=user"})
        assert (first.status_code, again.status_code, other_window.status_code) == (201, 200, 201)
        assert again.json()["data"]["id"] == first.json()["data"]["id"]
        listed = {p["policy"] for p in api.get("/api/rate-limits").json()["data"]}
        assert listed == {"7;w=60;u=request;s=user", "7;w=3600;u=request;s=user"}


def test_a_key_policy_limits_only_that_key(rl_gateway, rl_org, fake):
    other_key = create_org(rl_gateway.database_url, rl_org.name)
    assert other_key.org_id == rl_org.org_id and other_key.key_id != rl_org.key_id
    with rl_gateway.api(rl_org) as api:
        response = api.post("/api/rate-limits", json={"policy": "1;w=60", "key_id": rl_org.key_id})
        assert response.status_code == 201 and response.json()["data"]["key_id"] == rl_org.key_id
    wait_until(lambda: rl_gateway.chat(rl_org).status_code == 429)
    assert [rl_gateway.chat(other_key).status_code for _ in range(3)] == [200, 200, 200]


def test_the_strictest_of_header_and_standing_policies_refuses(rl_gateway, rl_org):
    with rl_gateway.api(rl_org) as api:
        assert api.post("/api/rate-limits", json={"policy": "3;w=60"}).status_code == 201
    first = wait_until(
        lambda: "helicone-ratelimit-policy" in (r := rl_gateway.chat(rl_org)).headers and r
    )
    assert first.headers["helicone-ratelimit-remaining"] == "2"
    loose = {POLICY: "100;w=60"}
    responses = [rl_gateway.chat(rl_org, loose) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["helicone-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    for response in responses:
        assert response.headers["helicone-ratelimit-policy"] == "3;w=60;u=request"

    # Here the header is the stricter one, and is reported as such.
    org = rl_gateway.new_org()
    with rl_gateway.api(org) as api:
        assert api.post("/api/rate-limits", json={"policy": "50;w=60"}).status_code == 201
    wait_until(lambda: "helicone-ratelimit-policy" in rl_gateway.chat(org).headers)
    strict = {POLICY: "1;w=60;s=user", "Helicone-User-Id": "alice"}
    ok, refused = rl_gateway.chat(org, strict), rl_gateway.chat(org, strict)
    assert (ok.status_code, refused.status_code) == (200, 429)
    assert ok.headers["helicone-ratelimit-policy"] == "1;w=60;u=request;s=user"
    assert refused.headers["helicone-ratelimit-policy"] == "1;w=60;u=request;s=user"


def test_leaving_out_the_segment_header_does_not_escape_a_standing_policy(rl_gateway, rl_org, fake):
    with rl_gateway.api(rl_org) as api:
        assert api.post("/api/rate-limits", json={"policy": "2;w=60;s=user"}).status_code == 201
    wait_until(lambda: "helicone-ratelimit-policy" in rl_gateway.chat(rl_org).headers)
    # Requests without Helicone-User-Id share one counter (one was used above).
    assert [rl_gateway.chat(rl_org).status_code for _ in range(2)] == [200, 429]
    assert rl_gateway.chat(rl_org, {"Helicone-User-Id": "carol"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "param", "problem"),
    [
        (b"not json", None, "JSON object"),
        (b"[1]", None, "JSON object"),
        (b"{}", "policy", "required"),
        (b'{"policy": 5}', "policy", "must be a string"),
        (b'{"policy": "5;w=0"}', "policy", "between 1 and 31536000"),
        (b'{"policy": "5;w=60;u=coins"}', "policy", "unknown unit"),
        (b'{"policy": "5;w=60", "limit": 3}', "limit", "unknown field"),
        (b'{"policy": "5;w=60", "key_id": 7}', "key_id", "must be a string"),
        (b'{"policy": "5;w=60", "key_id": "nope"}', "key_id", "no key 'nope' in this org"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(rl_gateway, rl_org, body, param, problem):
    with rl_gateway.api(rl_org) as api:
        response = api.post("/api/rate-limits", content=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert problem in error["message"]
        assert error.get("param") == param
        if param:
            assert f"'{param}'" in error["message"]
        assert api.get("/api/rate-limits").json()["data"] == []


def test_policies_are_scoped_to_the_org_of_the_key(rl_gateway, rl_org):
    stranger = rl_gateway.new_org()
    with rl_gateway.api(rl_org) as api:
        policy_id = api.post("/api/rate-limits", json={"policy": "5;w=60"}).json()["data"]["id"]
    with rl_gateway.api(stranger) as api:
        assert api.get("/api/rate-limits").json()["data"] == []
        assert api.delete(f"/api/rate-limits/{policy_id}").status_code == 404
        foreign_key = api.post(
            "/api/rate-limits", json={"policy": "1;w=60", "key_id": rl_org.key_id}
        )
        assert foreign_key.status_code == 400 and foreign_key.json()["error"]["param"] == "key_id"
    with rl_gateway.api(rl_org) as api:
        assert [p["id"] for p in api.get("/api/rate-limits").json()["data"]] == [policy_id]
        anonymous = api.get("/api/rate-limits", headers={"Authorization": ""})
        assert anonymous.status_code == 401


def test_a_standing_policy_refuses_an_sdk_client_that_sends_no_header(rl_gateway, rl_org, fake):
    with rl_gateway.api(rl_org) as api:
        assert api.post("/api/rate-limits", json={"policy": "1;w=3600"}).status_code == 201
    with openai.OpenAI(
        base_url=f"{rl_gateway.url}/openai/v1",
        api_key="sk-provider",
        default_headers=rl_org.auth,
        max_retries=0,
    ) as sdk:

        def refused() -> bool:
            try:
                sdk.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
            except openai.RateLimitError as exc:
                return exc.response.headers["helicone-ratelimit-policy"] == "1;w=3600;u=request"
            return False

        wait_until(refused)
