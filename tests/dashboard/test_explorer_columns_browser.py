"""The explorer's table (Chromium, real gateway): a column chooser with properties
that survives reloads and paging, request and response previews that show markup as
text, the total under the filter, a live tail fed by requests the openai SDK sends,
and the same number formats on every page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import openai
import orjson
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from relayscope.dashboard.formatting import MISSING
from relayscope.testing.orgs import OrgKey, wait_for_record
from relayscope.testing.seeding import insert_records, make_record

from .browsing import Pages, shot

pytestmark = pytest.mark.browser

DEFAULT_HEADERS = [
    "Time",
    "Status",
    "Provider / model",
    "User",
    "Session",
    "Name",
    "Latency",
    "TTFT",
    "Tokens in / out",
    "Cost",
    "Cache",
]
QUESTION = '<img src=x onerror="window.pwned=1"> What is <b>bold</b> in HTML? ' + "more " * 80
ANSWER = "<script>window.pwned=2</script> It makes text bold: <b>like this</b>."


@pytest.fixture(scope="module")
def gateway(gateway_process):
    return gateway_process


@pytest.fixture(scope="module")
def seeded(gateway) -> tuple[OrgKey, str]:
    """60 requests tagged feature/tier, the newest carrying markup in both bodies."""
    org = gateway.new_org()
    now = datetime.now(UTC) - timedelta(hours=1)
    records = [
        make_record(
            org.org_id,
            now - timedelta(minutes=i),
            user_id="dana" if i % 2 else "eli",
            properties={"feature": f"chat-{i % 3}", "tier": "pro"},
            latency_ms=1234.5,
            cost_usd=0.0123,
            prompt_tokens=12345,
            completion_tokens=67,
            total_tokens=12412,
        )
        for i in range(1, 60)
    ]
    markup = make_record(
        org.org_id,
        now,
        user_id="eli",
        properties={"feature": "html"},
        request_body=orjson.dumps(
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": QUESTION}]}
        ).decode(),
        response_body=orjson.dumps(
            {"choices": [{"message": {"role": "assistant", "content": ANSWER}}]}
        ).decode(),
    )
    insert_records(gateway.database_url, [markup, *records])
    return org, markup.id


@pytest.fixture
def page(pages: Pages, seeded) -> Page:
    return pages.signed_in(seeded[0].key)


def _headers(page: Page) -> list[str]:
    cells = page.locator("#requests-table thead th").all_inner_texts()
    return [re.sub(r"\s*[▲▼]$", "", c).strip() for c in cells]


def _choose(page: Page, on: list[str], off: list[str]) -> None:
    page.click("#column-chooser summary")
    for key in on:
        page.check(f"#columns-form input[name=col][value='{key}']")
    for key in off:
        page.uncheck(f"#columns-form input[name=col][value='{key}']")
    page.click("#columns-form button[type=submit]")


def test_the_chooser_adds_property_columns_and_the_choice_stays(page, gateway):
    assert _headers(page) == DEFAULT_HEADERS
    _choose(page, on=["property.feature", "property.tier"], off=["session", "ttft"])
    expect(page).to_have_url(re.compile(r"col=property\.feature"))
    chosen = [h for h in DEFAULT_HEADERS if h not in ("Session", "TTFT")]
    assert _headers(page) == [*chosen, "property feature", "property tier"]
    feature = (
        page.locator("#requests-table tbody tr").nth(1).locator("td[data-col='property.feature']")
    )
    expect(feature).to_have_text("chat-1")
    shot(page, "explorer-columns")
    page.reload()
    assert _headers(page) == [*chosen, "property feature", "property tier"]
    page.click("#older")
    expect(page).to_have_url(re.compile(r"cursor="))
    assert _headers(page) == [*chosen, "property feature", "property tier"]
    # A filter applied keeps them too.
    page.fill("input[name=user_id]", "dana")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"user_id\.is=dana"))
    assert _headers(page) == [*chosen, "property feature", "property tier"]
    # The explorer opened from the menu shows the remembered choice...
    page.click("header nav a[href='/dashboard/requests']")
    expect(page).to_have_url(re.compile(r"col=property\.tier"))
    assert _headers(page) == [*chosen, "property feature", "property tier"]
    # ... until the defaults are chosen again.
    page.click("#column-chooser summary")
    page.click("#default-columns")
    expect(page.locator("#requests-table thead th")).to_have_count(len(DEFAULT_HEADERS))
    with page.expect_navigation():  # the headers are read from the page the link opens
        page.click("header nav a[href='/dashboard/requests']")
    assert _headers(page) == DEFAULT_HEADERS


def test_previews_show_markup_as_text_on_one_line_with_the_full_text_on_hover(
    page, gateway, seeded
):
    _org, markup_id = seeded
    page.goto(f"{gateway.url}/dashboard/requests?col=status&col=request&col=response")
    assert _headers(page) == ["Time", "Status", "Request", "Response"]
    row = page.locator(f"#requests-table tbody tr[data-id='{markup_id}']")
    asked = row.locator("td[data-col=request]")
    answered = row.locator("td[data-col=response]")
    folded = " ".join(QUESTION.split())
    expect(asked).to_have_attribute("title", folded)
    assert asked.inner_text().startswith('<img src=x onerror="window.pwned=1"> What is <b>bold</b>')
    expect(answered).to_have_text(ANSWER)
    assert row.locator("img, b, script").count() == 0, "markup stays text"
    assert page.evaluate("window.pwned") is None
    # One line: the long question ends in an ellipsis inside its cell.
    box = asked.evaluate(
        "td => [td.scrollWidth, td.clientWidth, td.getBoundingClientRect().height]"
    )
    assert box[0] > box[1]
    other = page.locator("#requests-table tbody tr").nth(1).locator("td").first
    assert box[2] < 2 * other.evaluate("td => td.getBoundingClientRect().height")
    # A record without bodies previews as a dash.
    expect(
        page.locator("#requests-table tbody tr").nth(1).locator("td[data-col=request]")
    ).to_have_text(MISSING)
    shot(page, "explorer-previews")


def test_the_total_counts_what_the_filter_matches(page, gateway):
    expect(page.locator("#total")).to_have_text("60 requests")
    page.fill("input[name=user_id]", "dana")
    page.click("#filters button[type=submit]")
    expect(page.locator("#total")).to_have_text("30 requests")
    page.fill("input[name=user_id]", "nobody")
    page.click("#filters button[type=submit]")
    expect(page.locator("#total")).to_have_text("0 requests")


def _sdk(gateway, org: OrgKey) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key="sk-provider-live",
        default_headers=org.auth,
        max_retries=0,
    )


def _send(sdk: openai.OpenAI, user: str, text: str) -> str:
    sent = sdk.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        extra_headers={"Helicone-User-Id": user},
    )
    request_id: str = sent.headers["helicone-id"]
    return request_id


def test_new_requests_appear_live_under_the_filter_and_pause_stops_them(page, gateway, seeded):
    org, _markup = seeded
    page.goto(f"{gateway.url}/dashboard/requests?user_id=live-fan&col=user&col=request")
    expect(page.locator("#live-state")).to_have_text(re.compile("Live"))
    page.evaluate("window.notReloaded = true")
    with _sdk(gateway, org) as sdk:
        elsewhere = _send(sdk, "someone-else", "not for this filter")
        first = _send(sdk, "live-fan", "hello live tail")
        row = page.locator(f"#requests-table tbody tr[data-id='{first}']")
        expect(row).to_have_count(1)
        expect(row.locator("td[data-col=request]")).to_have_text("hello live tail")
        assert page.locator("#requests-table tbody tr").first.get_attribute("data-id") == first
        assert page.locator(f"tr[data-id='{elsewhere}']").count() == 0, "the filter holds"
        expect(page.locator("#total")).to_have_text("1 request")
        assert page.evaluate("window.notReloaded") is True
        shot(page, "explorer-live")

        page.click("#live-toggle")
        expect(page.locator("#live-toggle")).to_have_attribute("aria-pressed", "false")
        paused = _send(sdk, "live-fan", "while paused")
        wait_for_record(gateway, org, paused)
        # The stream is closed: nothing can add the row until live updates resume.
        assert page.locator(f"tr[data-id='{paused}']").count() == 0
        page.click("#live-toggle")
        expect(page.locator(f"#requests-table tbody tr[data-id='{paused}']")).to_have_count(1)
        assert page.locator("#requests-table tbody tr").first.get_attribute("data-id") == paused
        expect(page.locator("#total")).to_have_text("2 requests")


def test_no_live_tail_on_older_pages_or_other_orders(page, gateway):
    page.goto(f"{gateway.url}/dashboard/requests?limit=25")
    expect(page.locator("#live-toggle")).to_be_visible()
    page.click("#older")
    expect(page).to_have_url(re.compile("cursor="))
    expect(page.locator("#live-toggle")).to_have_count(0)
    page.goto(f"{gateway.url}/dashboard/requests?sort=latency")
    expect(page.locator("#live-toggle")).to_have_count(0)


def test_numbers_read_the_same_on_every_page(page, gateway):
    row = page.locator("#requests-table tbody tr", has_text="dana").first
    expect(row.locator("td").nth(6)).to_have_text("1.23 s")
    expect(row.locator("td").nth(8)).to_have_text("12,345 / 67")
    expect(row.locator("td").nth(9)).to_have_text("$0.0123")
    page.goto(f"{gateway.url}/dashboard/users")
    dana = page.locator("#users-table tbody tr", has_text="dana")
    expect(dana).to_contain_text("$0.3690")  # 30 x $0.0123
    expect(dana).to_contain_text("372,360")  # 30 x 12,412 tokens
    expect(dana).to_contain_text("1.23 s")
    page.goto(f"{gateway.url}/dashboard/properties?name=tier")
    expect(page.locator("#property-name option", has_text="tier")).to_have_text("tier (1 value)")
    expect(page.locator("#property-table tbody tr").first).to_contain_text("$0.7257")  # 59 x


def test_no_serious_accessibility_violation_with_every_column(page, gateway):
    page.goto(
        f"{gateway.url}/dashboard/requests?col=status&col=request&col=response&col=property.feature"
    )
    page.click("#column-chooser summary")
    found = Axe().run(page).response["violations"]
    serious = [v["id"] for v in found if v["impact"] in ("serious", "critical")]
    assert serious == []
