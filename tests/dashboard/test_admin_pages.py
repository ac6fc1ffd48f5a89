"""The admin pages: rate limits, alerts (rules, channels, history), webhooks, cache and
the audit log. Each form acts through the API as the signed-in key, so what it changes
is what the gateway then does, a proxy key's session is refused with the API's message,
and every change shows in the audit log as made through the dashboard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from relayscope.auth.keys import PROXY
from relayscope.testing.asgi_gateway import AsgiGateway
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.waiting import wait_until

TABS = ("keys", "budgets", "teams", "rate-limits", "alerts", "webhooks", "cache", "audit")
HOOK_SECRET = "whsec-admin-page-0123456789"


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@contextmanager
def signed_in(gateway: AsgiGateway, org: OrgKey) -> Iterator[httpx.Client]:
    # The session cookie is Secure: an https base URL, as a browser would need.
    with httpx.Client(transport=gateway.transport, base_url="https://gateway") as client:
        token = csrf(client.get("/dashboard/signin").text)
        answer = client.post("/dashboard/signin", data={"csrf_token": token, "key": org.key})
        assert answer.status_code == 303, answer.text
        yield client


def submit(client: httpx.Client, tab: str, action: str, **fields: str) -> httpx.Response:
    token = csrf(client.get(f"/dashboard/admin/{tab}").text)
    return client.post(action, data={"csrf_token": token, **fields})


def rows(page: str, table: str) -> list[str]:
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', page, re.S)
    return re.findall(r"<tr.*?</tr>", body.group(1), re.S) if body else []


def chat(gateway: AsgiGateway, org: OrgKey, **headers: str) -> httpx.Response:
    with gateway.http() as client:
        return client.post(
            "/openai/v1/chat/completions",
            headers={**org.auth, "Authorization": "Bearer sk-provider", **headers},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )


def test_the_header_links_to_admin_which_opens_its_first_tab(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        home = client.get("/dashboard/admin", follow_redirects=True)
    assert home.status_code == 200
    assert str(home.url).endswith("/dashboard/admin/keys")
    assert 'href="/dashboard/admin"' in home.text
    for tab in TABS:
        assert f'href="/dashboard/admin/{tab}"' in home.text


def test_a_rate_limit_added_on_the_page_limits_requests_until_deleted(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        added = submit(
            client, "rate-limits", "/dashboard/admin/rate-limits", policy="1;w=3600", key_id=""
        )
        assert added.status_code == 303, added.text
        [row] = rows(client.get("/dashboard/admin/rate-limits").text, "rate-limits-table")
        assert "1;w=3600" in row and "the whole org" in row

        assert chat(gateway, org).status_code == 200
        assert chat(gateway, org).status_code == 429

        policy_id = re.search(r'action="/dashboard/admin/rate-limits/([^/"]+)/delete"', row)[1]
        deleted = submit(client, "rate-limits", f"/dashboard/admin/rate-limits/{policy_id}/delete")
        assert deleted.status_code == 303
        assert "No standing rate limit" in client.get("/dashboard/admin/rate-limits").text
    # Standing policies are re-read every RELAYSCOPE_RATE_LIMIT_POLICY_TTL (2 s).
    wait_until(lambda: chat(gateway, org).status_code == 200, timeout=10, interval=0.25)


def test_a_bad_policy_shows_the_apis_message_and_changes_nothing(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        refused = submit(client, "rate-limits", "/dashboard/admin/rate-limits", policy="lots")
        assert refused.status_code == 400
        assert "Invalid field &#39;policy&#39;" in refused.text
        assert rows(refused.text, "rate-limits-table") == []


def test_a_webhook_is_added_shown_masked_and_deleted(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        added = submit(
            client,
            "webhooks",
            "/dashboard/admin/webhooks",
            url="https://hooks.example.com/T0/path-token",
            secret=HOOK_SECRET,
        )
        assert added.status_code == 303, added.text
        page = client.get("/dashboard/admin/webhooks").text
        [row] = rows(page, "webhooks-table")
        assert "https://hooks.example.com/********" in row and "left out" in row
        assert HOOK_SECRET not in page and "path-token" not in page
        hook_id = re.search(r'data-webhook="([^"]+)"', row)[1]
        assert submit(client, "webhooks", f"/dashboard/admin/webhooks/{hook_id}/delete").is_redirect
        assert "No webhook." in client.get("/dashboard/admin/webhooks").text


def test_an_alert_rule_added_on_the_page_fires_into_its_history(gateway):
    org = create_org(gateway.database_url)
    rule = {
        "name": "Any traffic",
        "metric": "request_count",
        "comparison": ">",
        "threshold": 0,
        "window": "1h",
    }
    with signed_in(gateway, org) as client:
        assert "No alert has fired" in client.get("/dashboard/admin/alerts").text
        added = submit(
            client, "alerts", "/dashboard/admin/alerts/rules", json=orjson.dumps(rule).decode()
        )
        assert added.status_code == 303, added.text
        [row] = rows(client.get("/dashboard/admin/alerts").text, "rules-table")
        assert "Any traffic" in row and "request_count &gt; 0" in row

        gateway.record(org, chat(gateway, org).headers["helicone-id"])
        service = gateway.gateway.alerts
        [stored] = gateway.run(service.repository.list_rules(org_id=org.org_id))
        assert gateway.run(service.evaluator.evaluate(stored, datetime.now(UTC))) is not None

        page = client.get("/dashboard/admin/alerts").text
        [event] = rows(page, "history-table")
        assert "Any traffic" in event and "firing" in event
        [row] = rows(page, "rules-table")
        assert "firing" in row


def test_a_definition_that_is_not_json_is_a_400_on_the_page(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        refused = submit(client, "alerts", "/dashboard/admin/alerts/channels", json="{name: ops")
    assert refused.status_code == 400
    assert "The definition must be JSON" in refused.text


def test_the_cache_tab_counts_the_orgs_hits(gateway):
    org = create_org(gateway.database_url)
    cached = {"Helicone-Cache-Enabled": "true"}
    assert chat(gateway, org, **cached).headers["helicone-cache"] == "MISS"
    assert chat(gateway, org, **cached).headers["helicone-cache"] == "HIT"
    with signed_in(gateway, org) as client:
        page = client.get("/dashboard/admin/cache").text
    shown = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', page))
    assert shown["hits"] == "1" and shown["misses"] == "1" and shown["stores"] == "1"


def test_form_changes_are_in_the_audit_log_as_made_through_the_dashboard(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        assert "No change has been made" in client.get("/dashboard/admin/audit").text
        submit(client, "rate-limits", "/dashboard/admin/rate-limits", policy="5;w=60")
        submit(client, "rate-limits", "/dashboard/admin/rate-limits", policy="lots")
        page = client.get("/dashboard/admin/audit").text
    failed, changed = rows(page, "audit-table")
    assert 'data-outcome="failed"' in failed and 'data-outcome="changed"' in changed
    for row in (failed, changed):
        assert "<td>dashboard</td>" in row and "POST /api/rate-limits" in row
        assert org.key_id in row  # who: the signed-in key (it has no name)
    assert "5;w=60" in changed and "lots" in failed


@pytest.mark.parametrize("tab", TABS)
def test_a_proxy_key_session_is_told_each_tab_needs_an_admin_key(gateway, tab):
    org = create_org(gateway.database_url, role=PROXY)
    with signed_in(gateway, org) as client:
        page = client.get(f"/dashboard/admin/{tab}")
    if tab == "cache":  # the org's own cache counters are readable by any key
        assert page.status_code == 200
        return
    assert page.status_code == 403
    assert "needs an admin key" in page.text
    assert "<tbody>" not in page.text


def test_a_proxy_key_session_cannot_change_anything(gateway):
    org = create_org(gateway.database_url, role=PROXY)
    with signed_in(gateway, org) as client:
        refused = submit(client, "rate-limits", "/dashboard/admin/rate-limits", policy="9;w=1")
    assert refused.status_code == 403 and "needs an admin key" in refused.text
    admin = create_org(gateway.database_url, org.name)
    with gateway.api(admin) as api:
        assert api.get("/api/rate-limits").json()["data"] == []
        [entry] = api.get("/api/audit-log").json()["data"]
    assert entry["outcome"] == "refused" and entry["actor"]["key_id"] == org.key_id


def test_an_unknown_tab_is_a_404(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        assert client.get("/dashboard/admin/nothing-here").status_code == 404


def test_a_team_with_a_key_and_its_budget_show_the_spend_and_refuse_past_it(gateway):
    org = create_org(gateway.database_url)
    app_key = named_key(gateway, org, "support-bot", PROXY)
    with signed_in(gateway, org) as client:
        assert submit(client, "teams", "/dashboard/admin/teams", name="support").is_redirect
        [team] = rows(client.get("/dashboard/admin/teams").text, "teams-table")
        team_id = re.search(r"<code>([0-9a-f-]{36})</code>", team)[1]
        added = submit(
            client, "teams", f"/dashboard/admin/teams/{team_id}/keys", key_id=app_key.key_id
        )
        assert added.status_code == 303, added.text
        [team] = rows(client.get("/dashboard/admin/teams").text, "teams-table")
        assert app_key.key_id in team

        made = submit(
            client,
            "budgets",
            "/dashboard/admin/budgets",
            level="team",
            target=team_id,
            usd_limit="",
            token_limit="1",
            period="day",
            reset="calendar",
        )
        assert made.status_code == 303, made.text
        spent = chat(gateway, app_key)  # spends past the 1-token budget
        assert spent.status_code == 200
        wait_until(lambda: chat(gateway, app_key).status_code == 429, timeout=15, interval=0.25)
        gateway.record(org, spent.headers["helicone-id"])  # the page reads the log store

        [budget] = rows(client.get("/dashboard/admin/budgets").text, "budgets-table")
    assert "team support" in budget and "day (calendar)" in budget
    meter = re.search(r'<meter[^>]*max="(\d+)"[^>]*value="(\d+)"', budget)
    assert meter is not None and meter.groups() == ("1", "1")  # full, not past the end
    assert re.search(r"of 1 tokens \((\d[\d,.]*)%\)", budget)


def test_a_budget_form_with_a_word_for_a_number_is_a_400_on_the_page(gateway):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        refused = submit(
            client, "budgets", "/dashboard/admin/budgets", level="org", usd_limit="lots"
        )
    assert refused.status_code == 400
    assert "The dollar limit must be a number" in refused.text


def named_key(gateway: AsgiGateway, org: OrgKey, name: str, role: str) -> OrgKey:
    info, key = gateway.run(gateway.gateway.store.create_key(org.org_id, name, role=role))
    return OrgKey(name=org.name, org_id=org.org_id, key_id=info.id, key=key)


STORED_OPENAI_KEY = "sk-stored-by-the-admin-page-7f3a"


def gateway_key_only(gateway: AsgiGateway, key: str, model: str = "gpt-4o-mini") -> httpx.Response:
    """A chat as a client holding only the gateway key (no provider key)."""
    with gateway.http() as client:
        return client.post(
            "/openai/v1/chat/completions",
            headers={"Helicone-Auth": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )


def secret_shown(page: str) -> str:
    return re.search(r'<code id="secret-value">([^<]+)</code>', page)[1]


def test_a_key_made_on_the_page_holds_its_provider_key_and_scopes(gateway, fake):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        made = submit(
            client,
            "keys",
            "/dashboard/admin/keys",
            name="support-bot",
            role="proxy",
            provider="openai",
            credential=STORED_OPENAI_KEY,
            models="gpt-4o-mini",
        )
        assert made.status_code == 200, made.text
        secret = secret_shown(made.text)
        listing = client.get("/dashboard/admin/keys").text
    assert STORED_OPENAI_KEY not in made.text and STORED_OPENAI_KEY not in listing
    assert secret not in listing  # shown once, on the answer to the form only
    [row] = [r for r in rows(listing, "keys-table") if "support-bot" in r]
    assert f"openai <code>…{STORED_OPENAI_KEY[-4:]}</code>" in row

    assert gateway_key_only(gateway, secret).status_code == 200
    assert fake.requests[-1].headers["authorization"] == f"Bearer {STORED_OPENAI_KEY}"
    refused = gateway_key_only(gateway, secret, model="gpt-4o")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "model_not_allowed"


def test_scopes_rotation_and_revocation_from_the_page(gateway, fake):
    org = create_org(gateway.database_url)
    with signed_in(gateway, org) as client:
        made = submit(client, "keys", "/dashboard/admin/keys", name="batch", role="proxy")
        old = secret_shown(made.text)
        key_id = re.search(r'data-key="([^"]+)"[^>]*>\s*<td>batch', made.text)[1]

        narrowed = submit(
            client, "keys", f"/dashboard/admin/keys/{key_id}/scopes", models="claude-*"
        )
        assert narrowed.status_code == 303, narrowed.text
        refused = gateway_key_only(gateway, old)
        assert refused.status_code == 403, refused.text
        widened = submit(client, "keys", f"/dashboard/admin/keys/{key_id}/scopes", models="")
        assert widened.status_code == 303

        rotated = submit(
            client, "keys", f"/dashboard/admin/keys/{key_id}/rotate", grace_seconds="3600"
        )
        assert rotated.status_code == 200, rotated.text
        new = secret_shown(rotated.text)
        assert new != old and "previous secret valid until" in rotated.text
        # Both work during the grace period: no downtime while clients move over.
        assert gateway_key_only(gateway, new).status_code == 200
        assert gateway_key_only(gateway, old).status_code == 200

        revoked = submit(client, "keys", f"/dashboard/admin/keys/{key_id}/delete")
        assert revoked.status_code == 303
        [row] = [
            r for r in rows(client.get("/dashboard/admin/keys").text, "keys-table") if ">batch" in r
        ]
    assert "revoked" in row
    assert gateway_key_only(gateway, new).status_code == 401
