"""Real traffic through the gateway feeds the rollups the analytics API reads."""

from __future__ import annotations

import pytest
from openai import OpenAI

from relayscope.testing.waiting import wait_until


def test_proxied_requests_show_up_in_analytics(gateway, fake, org):
    client = OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-upstream",
        default_headers=org.auth,
        max_retries=0,
    )
    with client:
        for user, feature in [("ana", "search"), ("ana", "chat"), ("ben", "chat")]:
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": f"hi from {user}"}],
                extra_headers={
                    "Helicone-User-Id": user,
                    "Helicone-Property-Feature": feature,
                    "Helicone-Session-Id": "e2e-session",
                    "Helicone-Session-Path": f"/{user}",
                },
            )
    with gateway.api(org) as api:

        def summary():
            data = api.get("/api/analytics/summary").json()["data"]
            return data if data["requests"] == 3 else None

        data = wait_until(summary)
        assert data["total_tokens"] > 0
        users = {u["user_id"]: u["requests"] for u in api.get("/api/users").json()["data"]}
        assert users == {"ana": 2, "ben": 1}
        chat = api.get("/api/properties/feature").json()["data"]
        assert {v["value"]: v["requests"] for v in chat} == {"chat": 2, "search": 1}
        session = api.get("/api/sessions/e2e-session").json()["data"]
        assert session["requests"] == 3
        assert sorted(c["path"] for c in session["tree"][0]["children"]) == ["/ana", "/ben"]
        listed = api.get("/api/requests", params={"search": "ben"}).json()["data"]
        assert len(listed) == 1 and listed[0]["user_id"] == "ben"
    assert data["cost_usd"] == pytest.approx(
        sum(r["cost_usd"] or 0 for r in api_records(gateway, org))
    )


def api_records(gateway, org):
    with gateway.api(org) as api:
        return api.get("/api/requests").json()["data"]
