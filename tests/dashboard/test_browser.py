"""The dashboard in a real browser (Debian's headless Chromium via Playwright), on a
real gateway with known records. Screenshots land in test-artifacts/dashboard/."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from relayscope.testing import dataset as ds
from relayscope.testing.dataset import DAY, NEXT_DAY

from .browsing import shot, sign_in

END = NEXT_DAY + timedelta(days=1)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


@pytest.fixture(scope="module")
def seeded(gateway):
    a, b = gateway.new_org(), gateway.new_org()
    records = ds.dataset(a.org_id)
    ds.insert(gateway.database_url, records)
    theirs = ds.other_org_dataset(b.org_id)
    ds.insert(gateway.database_url, theirs)
    with gateway.api(a) as api:
        template = [{"role": "system", "content": "Answer {{customer}} briefly."}]
        api.post("/api/prompts", json={"id": "support-reply", "messages": template})
        friendlier = [{"role": "system", "content": "Answer {{customer}} kindly."}]
        api.post(
            "/api/prompts/support-reply/versions",
            json={"messages": friendlier, "note": "friendlier"},
        )
        api.put("/api/prompts/support-reply/labels/production", json={"version": 1})
    return a, b, records, theirs


def row_texts(page: Page, table: str) -> list[str]:
    return page.locator(f"{table} tbody tr").all_inner_texts()


def test_sign_in_explore_filter_and_open_a_request(page, gateway, seeded):
    org, _other, records, _theirs = seeded
    page.goto(f"{gateway.url}/dashboard/requests")
    expect(page).to_have_url(re.compile(r"/dashboard/signin\?next="))
    page.fill("#key", "sk-relayscope-not-a-real-key")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("Unknown or revoked")
    shot(page, "signin")

    sign_in(page, gateway, org.key)
    cookie = next(c for c in page.context.cookies() if c["name"] == "relayscope_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    newest = sorted(records, key=lambda r: (r.created_at, r.id))[-1]
    expect(page.locator("#requests-table tbody tr").first).to_have_attribute("data-id", newest.id)
    assert page.locator("#requests-table tbody tr").count() == 50
    shot(page, "requests")

    # filter by user: the URL carries the filter, every row is that user's
    page.fill("input[name=user_id]", "carol")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"user_id\.is=carol"))
    rows = row_texts(page, "#requests-table")
    assert len(rows) == 10 and all("carol" in row for row in rows)
    shot(page, "requests-by-user")

    # filter by property, a name and a value, becomes the API's property_is.<name>
    page.goto(f"{gateway.url}/dashboard/requests")
    page.fill("input[name='prop_name.0']", "tier")
    page.fill("input[name='prop_value.0']", "gold")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"property_is\.tier=gold"))
    query = parse_qs(urlparse(page.url).query)
    assert query == {"property_is.tier": ["gold"]}
    assert len(row_texts(page, "#requests-table")) == 10

    # open a request: its body and a chat rendering
    step = next(r for r in records if r.request_name == "step-3")
    page.goto(f"{gateway.url}/dashboard/requests?request_name=step-3")
    page.locator("#requests-table tbody tr").first.locator("td").nth(2).click()
    expect(page).to_have_url(re.compile(rf"/dashboard/requests/{step.id}$"))
    expect(page.locator("#request-body")).to_contain_text('"content": "hello"')
    expect(page.locator("#chat .msg.user")).to_contain_text("hello")
    expect(page.locator("body")).to_contain_text("step-3")
    shot(page, "request-detail")

    # its session link opens the tree
    page.click("#session-link")
    expect(page).to_have_url(re.compile(r"/dashboard/sessions/sess-1$"))
    tree = page.locator("#session-tree")
    for path in ("/plan", "/plan/search", "/answer"):
        expect(tree).to_contain_text(path)
    assert page.locator("#timeline rect").count() == 6
    shot(page, "session")


def test_analytics_charts_show_the_seeded_numbers(page, gateway, seeded):
    org, _other, records, _theirs = seeded
    sign_in(page, gateway, org.key)
    since, until = DAY, END
    page.goto(
        f"{gateway.url}/dashboard/analytics?from={since.isoformat().replace('+00:00', 'Z')}"
        f"&to={until.isoformat().replace('+00:00', 'Z')}&granularity=day&group_by=model"
    )
    page.wait_for_selector("body[data-charts-ready='1']")
    totals = page.locator("#totals")
    expect(totals.locator("[data-metric=requests]")).to_have_text(f"{len(records):,}")
    expected_cost = sum(r.cost_usd or 0 for r in records)
    expect(totals.locator("[data-metric=cost_usd]")).to_have_text(f"${expected_cost:,.4f}")
    errors = sum(ds.is_error(r) for r in records)
    expect(totals.locator("[data-metric=error_rate]")).to_have_text(
        f"{errors / len(records) * 100:.1f}%"
    )
    chart = page.evaluate(
        """() => {
            const out = {};
            for (const kind of ["cost", "requests", "latency", "error_rate"]) {
                const c = Chart.getChart(document.getElementById("chart-" + kind));
                out[kind] = {labels: c.data.labels,
                             sets: c.data.datasets.map(d => [d.label, d.data]),
                             y: c.options.scales.y.title.text};
            }
            return out;
        }"""
    )
    assert chart["cost"]["labels"] == ["2026-03-02", "2026-03-03"]
    cost = dict(chart["cost"]["sets"])
    for model in {r.request_model for r in records}:
        mine = [r for r in records if r.request_model == model]
        per_day = [
            sum(r.cost_usd or 0 for r in mine if r.created_at < NEXT_DAY),
            sum(r.cost_usd or 0 for r in mine if r.created_at >= NEXT_DAY),
        ]
        assert cost[model] == pytest.approx(per_day), model
    # All requests, whatever the cost breakdown.
    assert [name for name, _values in chart["requests"]["sets"]] == ["requests"]
    assert sum(sum(values) for _name, values in chart["requests"]["sets"]) == len(records)
    latency = dict(chart["latency"]["sets"])
    first_day = [r.latency_ms for r in records if r.created_at < NEXT_DAY]
    assert latency["p50"][0] == pytest.approx(ds.percentiles(first_day)[0], abs=1e-3)
    assert chart["latency"]["y"] == "milliseconds" and chart["cost"]["y"] == "USD"
    assert page.locator("canvas").count() == 9
    shot(page, "analytics")


def test_users_properties_sessions_prompts_pages(page, gateway, seeded):
    org, _other, records, _theirs = seeded
    sign_in(page, gateway, org.key)
    page.goto(f"{gateway.url}/dashboard/users?sort=requests")
    rows = row_texts(page, "#users-table")
    users = {r.user_id for r in records if r.user_id}
    assert len(rows) == len(users)
    carol = page.locator("#users-table tbody tr", has_text="carol")
    expect(carol).to_contain_text("$0.0900")
    expect(carol).to_contain_text("10.0%")
    shot(page, "users")
    carol.locator("a").click()
    expect(page).to_have_url(re.compile(r"/dashboard/requests\?user_id=carol$"))

    page.goto(f"{gateway.url}/dashboard/properties")
    page.select_option("#property-name", "feature")
    page.click("form.filters button[type=submit]")
    chat = page.locator("#property-table tbody tr", has_text="chat")
    n_chat = sum(1 for r in records if r.properties.get("feature") == "chat")
    expect(chat.locator("td").nth(1)).to_have_text(f"{n_chat:,}")
    shot(page, "properties")

    page.goto(f"{gateway.url}/dashboard/sessions")
    expect(page.locator("#sessions-table tbody tr")).to_have_count(1)
    expect(page.locator("#sessions-table")).to_contain_text("trip planner")
    shot(page, "sessions")

    page.goto(f"{gateway.url}/dashboard/prompts")
    expect(page.locator("#prompts-table")).to_contain_text("support-reply")
    expect(page.locator("#prompts-table")).to_contain_text("production → v1")
    page.click("#prompts-table a")
    expect(page.locator("#versions-table tbody tr")).to_have_count(2)
    expect(page.locator("#versions-table")).to_contain_text("friendlier")
    shot(page, "prompts")


def test_another_orgs_data_never_shows(page, gateway, seeded):
    org, _other, _records, theirs = seeded
    sign_in(page, gateway, org.key)
    for path in (
        "/dashboard/requests",
        "/dashboard/requests?search=secret+plan",
        "/dashboard/users",
        "/dashboard/sessions",
        "/dashboard/sessions/sess-1",
        "/dashboard/properties?name=feature",
        "/dashboard/analytics?range=90d",
    ):
        page.goto(gateway.url + path)
        assert "mallory" not in page.content().lower(), path
    page.goto(f"{gateway.url}/dashboard/requests?search=secret+plan")
    expect(page.locator(".none")).to_have_text("No requests match these filters.")
    page.goto(f"{gateway.url}/dashboard/requests/{theirs[0].id}")
    expect(page.locator("h1")).to_have_text("No such request")


def test_sign_out_and_csrf(page, gateway, seeded):
    org, _other, _records, _theirs = seeded
    sign_in(page, gateway, org.key)
    # a state-changing POST without the session's CSRF token is refused
    refused = page.request.post(f"{gateway.url}/dashboard/signout", form={"csrf_token": "x"})
    assert refused.status == 403
    page.goto(f"{gateway.url}/dashboard/requests")
    expect(page).to_have_url(re.compile(r"/dashboard/requests$"))
    forged = page.request.post(
        f"{gateway.url}/dashboard/signin", form={"key": org.key, "csrf_token": "forged"}
    )
    assert forged.status == 403
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/dashboard/signin$"))
    page.goto(f"{gateway.url}/dashboard/analytics")
    expect(page).to_have_url(re.compile(r"/dashboard/signin\?next="))
