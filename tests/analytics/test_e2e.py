"""Real traffic through the gateway feeds the rollups the analytics API reads."""

from __future__ import annotations

import pytest
from anthropic import Anthropic
from anthropic import RateLimitError as AnthropicRateLimitError
from openai import OpenAI, RateLimitError

from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.waiting import wait_until


def test_proxied_requests_show_up_in_analytics(gateway, fake, org):
    client = OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        http_client=gateway.sdk_http(),
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


def test_provider_429s_count_as_rate_limited_like_the_gateways_own(gateway, fake, org):
    """The provider's 429 (openai SDK) and a gateway policy's 429 (anthropic SDK) are both
    rate-limited: in the record, the explorer's rate-limited filter and analytics."""
    fake.enqueue(Behaviour(status=429, headers={"retry-after": "7"}))
    with (
        OpenAI(
            base_url=f"{gateway.url}/openai/v1",
            http_client=gateway.sdk_http(),
            api_key="sk-upstream",
            default_headers=org.auth,
            max_retries=0,
        ) as client,
        pytest.raises(RateLimitError) as provider,
    ):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    assert provider.value.response.headers["retry-after"] == "7", "the provider's answer"
    with Anthropic(
        base_url=f"{gateway.url}/anthropic",
        http_client=gateway.sdk_http(),
        api_key="sk-ant",
        default_headers={**org.auth, "Helicone-RateLimit-Policy": "1;w=60"},
        max_retries=0,
    ) as claude:
        claude.messages.create(
            model="claude-3-5-haiku-latest",
            max_tokens=16,
            messages=[{"role": "user", "content": "a"}],
        )
        with pytest.raises(AnthropicRateLimitError):
            claude.messages.create(
                model="claude-3-5-haiku-latest",
                max_tokens=16,
                messages=[{"role": "user", "content": "b"}],
            )
    record = gateway.record(org, provider.value.response.headers["helicone-id"])
    assert (record["status"], record["rate_limited"]) == (429, True)
    with gateway.api(org) as api:

        def summary():
            data = api.get("/api/analytics/summary").json()["data"]
            return data if data["requests"] == 3 else None

        assert wait_until(summary)["rate_limited"] == 2
        limited = api.get("/api/requests", params={"status": "rate_limited"}).json()["data"]
        assert sorted(r["provider"] for r in limited) == ["anthropic", "openai"]
