"""/api/teams and /api/budgets: admin keys change them, each org sees its own, and bad
input is a 400 naming the field."""

from __future__ import annotations

import pytest

from relayscope.auth.keys import PROXY
from relayscope.testing.orgs import create_org

from .conftest import create_budget


def test_teams_hold_keys_and_budgets_show_their_period_and_spend(budget_gateway, owner):
    with budget_gateway.api(owner) as api:
        team = api.post("/api/teams", json={"name": "research"})
        assert team.status_code == 201
        team_id = team.json()["data"]["id"]
        assert api.post("/api/teams", json={"name": "research"}).status_code == 409
        assert api.put(f"/api/teams/{team_id}/keys/{owner.key_id}").status_code == 200
        listed = api.get("/api/teams").json()["data"]
        assert [(t["name"], t["key_ids"]) for t in listed] == [("research", [owner.key_id])]
        budget = create_budget(
            budget_gateway, owner, level="team", target=team_id, usd_limit=5, reset="rolling"
        )
        assert budget["period"] == "month" and budget["reset"] == "rolling"
        assert budget["spent_usd"] == 0 and budget["spent_tokens"] == 0
        assert budget["period_start"] < budget["resets_at"]
        assert [b["id"] for b in api.get("/api/budgets").json()["data"]] == [budget["id"]]
        assert api.delete(f"/api/teams/{team_id}/keys/{owner.key_id}").status_code == 200
        assert api.get(f"/api/teams/{team_id}").json()["data"]["key_ids"] == []
        assert api.delete(f"/api/teams/{team_id}").status_code == 200
        # A team's budgets go with it.
        assert api.get(f"/api/budgets/{budget['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": "galaxy", "usd_limit": 1}, "level"),
        ({"level": "org", "target": "x", "usd_limit": 1}, "target"),
        ({"level": "user", "usd_limit": 1}, "target"),
        ({"level": "org"}, "usd_limit"),
        ({"level": "org", "usd_limit": -1}, "usd_limit"),
        ({"level": "org", "usd_limit": "10"}, "usd_limit"),
        ({"level": "org", "token_limit": 1.5}, "token_limit"),
        ({"level": "org", "usd_limit": 1, "period": "year"}, "period"),
        ({"level": "org", "usd_limit": 1, "reset": "sometimes"}, "reset"),
        ({"level": "org", "usd_limit": 1, "color": "red"}, "color"),
        ({"level": "team", "target": "no-such-team", "usd_limit": 1}, "target"),
        ({"level": "key", "target": "no-such-key", "usd_limit": 1}, "target"),
    ],
)
def test_a_bad_budget_is_a_400_naming_the_field(budget_gateway, owner, body, field):
    with budget_gateway.api(owner) as api:
        response = api.post("/api/budgets", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == field and error["type"] == "invalid_request_error"


def test_a_body_that_is_not_an_object_is_a_400(budget_gateway, owner):
    with budget_gateway.api(owner) as api:
        for path in ("/api/budgets", "/api/teams"):
            response = api.post(path, content=b"[1]")
            assert response.status_code == 400 and "JSON object" in response.text


def test_a_proxy_key_may_not_read_or_change_them(budget_gateway, owner):
    proxy = create_org(budget_gateway.database_url, owner.name, role=PROXY)
    with budget_gateway.api(proxy) as api:
        answers = [
            api.get("/api/budgets"),
            api.post("/api/budgets", json={"level": "org", "usd_limit": 1}),
            api.get("/api/teams"),
            api.post("/api/teams", json={"name": "mine"}),
        ]
    for answer in answers:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "admin_key_required"


def test_another_org_sees_and_touches_none_of_them(budget_gateway, owner):
    budget = create_budget(budget_gateway, owner, level="org", usd_limit=1)
    with budget_gateway.api(owner) as api:
        team_id = api.post("/api/teams", json={"name": "ops"}).json()["data"]["id"]
    stranger = budget_gateway.new_org()
    with budget_gateway.api(stranger) as api:
        assert api.get("/api/budgets").json()["data"] == []
        assert api.get("/api/teams").json()["data"] == []
        assert api.get(f"/api/budgets/{budget['id']}").status_code == 404
        assert api.delete(f"/api/budgets/{budget['id']}").status_code == 404
        assert api.get(f"/api/teams/{team_id}").status_code == 404
        assert api.put(f"/api/teams/{team_id}/keys/{stranger.key_id}").status_code == 404
        # Nor may it put the owner's key in a team of its own.
        own = api.post("/api/teams", json={"name": "ops"}).json()["data"]["id"]
        assert api.put(f"/api/teams/{own}/keys/{owner.key_id}").status_code == 404
        assert (
            api.post(
                "/api/budgets", json={"level": "team", "target": team_id, "usd_limit": 1}
            ).status_code
            == 400
        )
    with budget_gateway.api(owner) as api:
        assert api.get(f"/api/budgets/{budget['id']}").status_code == 200
