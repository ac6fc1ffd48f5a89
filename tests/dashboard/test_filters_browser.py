"""The filter bar (Chromium, real gateway), shared by the explorer and analytics:
"is" and "contains" in any letter case, suggestions from the org's own values, a
time range with presets and custom bounds in the URL, and analytics numbers that
agree with the explorer's filtered rows."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from relayscope.record import LogRecord
from relayscope.testing.orgs import OrgKey
from relayscope.testing.seeding import insert_records, make_record

from .browsing import Pages, shot

pytestmark = pytest.mark.browser

NOW = datetime.now(UTC).replace(microsecond=0)
PEOPLE = [
    # (user, model, feature, prompt, how many, hours ago)
    ("ada", "gpt-4o", "checkout", None, 4, 1),
    ("Ada.L", "gpt-4o-mini", "Checkout-Flow", None, 2, 2),
    ("bob", "claude-3-haiku", "search", "support-reply", 3, 3),
    ("old", "gpt-4o", "checkout", None, 2, 72),
]


def _records(org_id: str) -> list[LogRecord]:
    records = []
    for user, model, feature, prompt, count, hours in PEOPLE:
        for n in range(count):
            records.append(
                make_record(
                    org_id,
                    NOW - timedelta(hours=hours, minutes=n),
                    user_id=user,
                    request_model=model,
                    properties={"feature": feature},
                    prompt_id=prompt,
                    prompt_version=1 if prompt else None,
                    cost_usd=0.01 * (len(records) + 1),
                )
            )
    return records


@pytest.fixture(scope="module")
def gateway(gateway_process):
    return gateway_process


@pytest.fixture(scope="module")
def seeded(gateway) -> tuple[OrgKey, list[LogRecord]]:
    org, other = gateway.new_org(), gateway.new_org()
    records = _records(org.org_id)
    insert_records(gateway.database_url, records)
    secret = make_record(
        other.org_id,
        NOW - timedelta(hours=1),
        user_id="ada-secret",
        request_model="gpt-4o-secret",
        properties={"feature": "checkout-secret"},
    )
    insert_records(gateway.database_url, [secret])
    template = [{"role": "system", "content": "Answer briefly."}]
    with gateway.api(org) as api:
        assert api.post("/api/prompts", json={"id": "support-reply", "messages": template})
    with gateway.api(other) as api:
        assert api.post("/api/prompts", json={"id": "support-secret", "messages": template})
    return org, records


@pytest.fixture
def page(pages: Pages, seeded) -> Page:
    return pages.signed_in(seeded[0].key)


def _users(page: Page) -> list[str]:
    cells = page.locator("#requests-table tbody tr td:nth-child(4)")
    return sorted(cells.all_inner_texts())


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def _apply(page: Page, form: str = "#filters") -> None:
    page.click(f"{form} button[type=submit]")
    page.wait_for_load_state("load")


def test_is_and_contains_ignore_case_in_the_explorer(page, gateway, seeded):
    page.fill("#filters input[name=user_id]", "ADA")
    _apply(page)
    assert _query(page) == {"user_id.is": ["ADA"]}
    assert _users(page) == ["ada"] * 4
    # The controls read the URL back: the choice and the value stay.
    expect(page.locator("#filters select[name='user_id.op']")).to_have_value("is")
    expect(page.locator("#filters input[name=user_id]")).to_have_value("ADA")

    page.select_option("#filters select[name='user_id.op']", "contains")
    _apply(page)
    assert _query(page) == {"user_id.contains": ["ADA"]}
    assert _users(page) == ["Ada.L"] * 2 + ["ada"] * 4

    page.fill("#filters input[name=user_id]", "")
    page.select_option("#filters select[name='model.op']", "contains")
    page.fill("#filters input[name=model]", "4O")
    _apply(page)
    assert _query(page) == {"model.contains": ["4O"]}
    assert _users(page) == ["Ada.L"] * 2 + ["ada"] * 4 + ["old"] * 2

    page.fill("#filters input[name=model]", "")
    page.fill("#filters input[name='prop_name.0']", "feature")
    page.select_option("#filters select[name='prop_op.0']", "contains")
    page.fill("#filters input[name='prop_value.0']", "CHECKOUT")
    _apply(page)
    assert _query(page) == {"property_contains.feature": ["CHECKOUT"]}
    assert _users(page) == ["Ada.L"] * 2 + ["ada"] * 4 + ["old"] * 2
    expect(page.locator("#filters input[name='prop_value.0']")).to_have_value("CHECKOUT")
    # A second, empty row adds another condition.
    expect(page.locator("#filters input[name='prop_name.1']")).to_have_value("")
    shot(page, "filters-explorer")
    # An exact link (a user's name elsewhere on the dashboard) still works as before.
    page.goto(f"{gateway.url}/dashboard/requests?user_id=Ada.L")
    assert _users(page) == ["Ada.L"] * 2


def _options(page: Page, datalist: str) -> list[str]:
    return page.locator(f"{datalist} option").evaluate_all("els => els.map(e => e.value)")


def test_inputs_suggest_the_orgs_own_values(page, gateway, seeded):
    user = page.locator("#filters input[name=user_id]")
    user.focus()
    page.keyboard.type("ad")
    expect(page.locator("#filters-user_id-options option")).to_have_count(2)
    assert _options(page, "#filters-user_id-options") == ["ada", "Ada.L"]
    page.locator("#filters input[name=model]").focus()
    expect(page.locator("#filters-model-options option")).to_have_count(3)
    assert "gpt-4o-secret" not in _options(page, "#filters-model-options")
    page.locator("#filters input[name='prop_name.0']").focus()
    page.keyboard.type("feat")
    expect(page.locator("#filters-prop-names option")).to_have_count(1)
    page.keyboard.type("ure")
    page.keyboard.press("Tab")  # to the match choice, then the value
    page.keyboard.press("Tab")
    expect(page.locator("#filters input[name='prop_value.0']")).to_be_focused()
    expect(page.locator("#filters-prop-values-0 option")).to_have_count(3)
    values = _options(page, "#filters-prop-values-0")
    assert sorted(values) == ["Checkout-Flow", "checkout", "search"]
    page.locator("#filters input[name=prompt_id]").focus()
    expect(page.locator("#filters-prompt_id-options option")).to_have_count(1)
    assert _options(page, "#filters-prompt_id-options") == ["support-reply"]
    # Each input names its list, which the browser offers from the keyboard.
    assert user.get_attribute("list") == "filters-user_id-options"


def test_the_time_range_presets_and_custom_bounds_ride_in_the_url(page, gateway, seeded):
    preset = page.locator("#filters select[name=range]")
    expect(page.locator("#filters input[name=from]")).to_be_hidden()
    preset.select_option("1h")
    _apply(page)
    assert _query(page) == {"range": ["1h"]}
    assert _users(page) == []  # the newest request is an hour old
    page.locator("#filters select[name=range]").select_option("24h")
    _apply(page)
    assert _query(page) == {"range": ["24h"]}
    assert len(_users(page)) == 9
    page.locator("#filters select[name=range]").select_option("custom")
    since = page.locator("#filters input[name=from]")
    expect(since).to_be_visible()
    since.fill((NOW - timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#filters input[name=to]", (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S"))
    _apply(page)
    query = _query(page)
    assert set(query) == {"from", "to"} and _users(page) == ["old"] * 2
    expect(page.locator("#filters select[name=range]")).to_have_value("custom")
    # Choosing a preset again drops the custom bounds.
    page.locator("#filters select[name=range]").select_option("7d")
    _apply(page)
    assert _query(page) == {"range": ["7d"]} and len(_users(page)) == 11


def _chart_total(page: Page, panel: str) -> float:
    data = json.loads(page.locator(f"#data-{panel}").text_content() or "{}")
    return sum(v or 0 for s in data["series"] for v in s["values"])


def test_analytics_has_the_bar_and_agrees_with_the_explorer(page, gateway, seeded):
    _org, records = seeded
    page.goto(f"{gateway.url}/dashboard/analytics?range=24h")
    for control in ("user_id", "model", "prompt_id", "prop_name.0", "prop_value.0"):
        expect(page.locator(f"#analytics-form input[name='{control}']")).to_be_visible()
    page.select_option("#analytics-form select[name='model.op']", "contains")
    page.fill("#analytics-form input[name=model]", "4o")
    _apply(page, "#analytics-form")
    query = _query(page)  # with the page's own group_by and granularity
    assert query["range"] == ["24h"] and query["model.contains"] == ["4o"]
    tile = page.locator("#totals [data-metric=requests]")
    expect(tile).to_have_text("6")
    assert _chart_total(page, "requests") == 6
    chosen = [r for r in records if "4o" in (r.request_model or "") and r.user_id != "old"]
    assert _chart_total(page, "cost") == pytest.approx(sum(r.cost_usd or 0 for r in chosen))
    shot(page, "filters-analytics")
    # The same filter in the explorer lists the same requests.
    page.goto(f"{gateway.url}/dashboard/requests?range=24h&model.contains=4o")
    assert len(_users(page)) == 6

    page.goto(f"{gateway.url}/dashboard/analytics?range=24h")
    page.fill("#analytics-form input[name=prompt_id]", "SUPPORT-REPLY")
    _apply(page, "#analytics-form")
    expect(page.locator("#totals [data-metric=requests]")).to_have_text("3")
    page.goto(f"{gateway.url}/dashboard/analytics?range=24h")
    page.fill("#analytics-form input[name=user_id]", "ada")
    page.fill("#analytics-form input[name='prop_name.0']", "feature")
    page.fill("#analytics-form input[name='prop_value.0']", "CHECKOUT")
    _apply(page, "#analytics-form")
    query = _query(page)
    assert query["user_id.is"] == ["ada"] and query["property_is.feature"] == ["CHECKOUT"]
    expect(page.locator("#totals [data-metric=requests]")).to_have_text("4")
    assert _chart_total(page, "requests") == 4


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/requests?model.contains=4o&range=24h&property_is.feature=checkout",
        "/dashboard/analytics?range=7d&user_id.contains=ad",
        "/dashboard/requests?range=custom&from=2026-01-01T00:00:00",
    ],
)
def test_the_filter_bar_has_no_serious_accessibility_violation(page, gateway, path):
    page.goto(f"{gateway.url}{path}")
    page.wait_for_load_state("networkidle")
    found = Axe().run(page).response["violations"]
    serious = [v["id"] for v in found if v["impact"] in ("serious", "critical")]
    assert serious == []
    expect(page).to_have_url(re.compile(r"/dashboard/(requests|analytics)\?"))
