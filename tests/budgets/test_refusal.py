"""Over budget, the SDK gets a 429 budget_exceeded naming the level and the reset; the
provider is not called, and the refusal is logged like any request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import openai
import pytest

from relayscope.testing.orgs import create_org

from .conftest import create_budget, openai_client

ASK = [{"role": "user", "content": "Spend a little"}]
TINY = 0.000001


def ask(client: openai.OpenAI, **headers: str):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=ASK, extra_headers=headers
    )


def test_a_spent_budget_refuses_with_a_429_naming_the_level_and_the_reset(
    budget_gateway, owner, fake
):
    created = create_budget(budget_gateway, owner, level="org", usd_limit=TINY, period="day")
    with openai_client(budget_gateway, owner) as client:
        ask(client)  # admitted: nothing was spent yet
        with pytest.raises(openai.RateLimitError) as refused:
            ask(client)
    assert fake.calls == 1
    response = refused.value.response
    error = response.json()["error"]
    midnight = (datetime.now(UTC) + timedelta(days=1)).date().isoformat() + "T00:00:00Z"
    assert error["code"] == "budget_exceeded" and error["type"] == "insufficient_quota"
    assert "at the org level" in error["message"] and created["id"] in error["message"]
    assert f"resets at {midnight}" in error["message"]
    assert 0 < int(response.headers["retry-after"]) <= 86400
    assert response.headers["relayscope-budget-level"] == "org"
    assert response.headers["relayscope-budget-reset"] == midnight
    assert response.headers["x-should-retry"] == "false"
    record = budget_gateway.record(owner, response.headers["helicone-id"])
    assert record["status"] == 429 and "Budget exceeded" in record["error"]


def test_a_team_budget_holds_the_keys_of_the_team_only(budget_gateway, owner, fake):
    other = create_org(budget_gateway.database_url, owner.name)  # a second key, no team
    with budget_gateway.api(owner) as api:
        team = api.post("/api/teams", json={"name": "research"}).json()["data"]
        joined = api.put(f"/api/teams/{team['id']}/keys/{owner.key_id}")
        assert joined.status_code == 200 and joined.json()["data"]["key_ids"] == [owner.key_id]
    create_budget(budget_gateway, owner, level="team", target=team["id"], usd_limit=TINY)
    with openai_client(budget_gateway, owner) as client:
        ask(client)
        with pytest.raises(openai.RateLimitError) as refused:
            ask(client)
    assert "at the team level" in refused.value.response.json()["error"]["message"]
    with openai_client(budget_gateway, other) as client:
        assert ask(client).http_response.status_code == 200


def test_a_user_budget_holds_that_user_only(budget_gateway, owner, fake):
    create_budget(budget_gateway, owner, level="user", target="alice", usd_limit=TINY)
    with openai_client(budget_gateway, owner) as client:
        ask(client, **{"Helicone-User-Id": "alice"})
        with pytest.raises(openai.RateLimitError) as refused:
            ask(client, **{"Helicone-User-Id": "alice"})
        assert ask(client, **{"Helicone-User-Id": "bob"}).http_response.status_code == 200
        assert ask(client).http_response.status_code == 200
    assert "user alice" in refused.value.response.json()["error"]["message"]


def test_a_key_budget_holds_that_key_only(budget_gateway, owner, fake):
    other = create_org(budget_gateway.database_url, owner.name)
    create_budget(budget_gateway, owner, level="key", target=other.key_id, token_limit=1)
    with openai_client(budget_gateway, other) as client:
        ask(client)
        with pytest.raises(openai.RateLimitError) as refused:
            ask(client)
    assert "tokens" in refused.value.response.json()["error"]["message"]
    with openai_client(budget_gateway, owner) as client:
        assert ask(client).http_response.status_code == 200


def test_a_budget_made_mid_period_counts_what_was_already_spent(budget_gateway, owner, fake):
    with openai_client(budget_gateway, owner) as client:
        first = ask(client)
        budget_gateway.record(owner, first.headers["helicone-id"])  # stored
        create_budget(budget_gateway, owner, level="org", usd_limit=TINY)
        with pytest.raises(openai.RateLimitError):
            ask(client)
    assert fake.calls == 1
