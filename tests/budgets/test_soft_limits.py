"""Soft limits: the org's alert channels hear of 50, 80 and 100 % of a budget, each
once per period, however many requests pass them."""

from __future__ import annotations

import openai
import pytest

from relayscope.budgets.stage import BudgetStage

from .conftest import create_budget, openai_client

ASK = [{"role": "user", "content": "Count my spend"}]
SECRET = "budget-hook-secret-0123456789"


def ask(client: openai.OpenAI, user: str):
    return client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=ASK, extra_headers={"Helicone-User-Id": user}
    )


def test_each_threshold_alerts_once(budget_gateway, owner, hooks, fake):
    with budget_gateway.api(owner) as api:
        channel = {
            "name": "spend",
            "type": "webhook",
            "url": f"{hooks.url}/spend",
            "secret": SECRET,
        }
        assert api.post("/api/alerts/channels", json=channel).status_code == 201
    with openai_client(budget_gateway, owner) as client:
        probe = ask(client, "probe")  # what one such request costs
        cost = budget_gateway.record(owner, probe.headers["helicone-id"])["cost_usd"]
        # 52 % after one request; 105 % after two (80 and 100 at once); then refused.
        budget = create_budget(
            budget_gateway, owner, level="user", target="carol", usd_limit=cost / 0.52
        )
        ask(client, "carol")
        ask(client, "carol")
        with pytest.raises(openai.RateLimitError):
            ask(client, "carol")
    stage = next(s for s in budget_gateway.gateway.stages if isinstance(s, BudgetStage))
    assert stage.soft_limits is not None
    budget_gateway.run(stage.soft_limits.drain())
    alerts = [r.json() for r in hooks.wait_for("/spend", 3)]
    assert len(hooks.at("/spend")) == 3
    assert sorted(a["budget"]["threshold"] for a in alerts) == [50, 80, 100]
    for alert in alerts:
        assert alert["type"] == "alert.budget" and alert["budget"]["id"] == budget["id"]
        assert "user carol" in alert["summary"] and "resets at" in alert["summary"]
    with budget_gateway.api(owner) as api:
        sent = api.get(f"/api/budgets/{budget['id']}").json()["data"]["alerts"]
    assert sorted(a["threshold"] for a in sent) == [50, 80, 100]
