"""The explorer for daily work (Chromium, real gateway): a page size, Older and
Newer, one line per request, and times relative to now with the exact time on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from relayscope.testing import dataset as ds
from relayscope.testing.seeding import insert_records, make_record

from .browsing import Pages

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


@pytest.fixture(scope="module")
def seeded(gateway):
    org = gateway.new_org()
    records = ds.dataset(org.org_id)
    ds.insert(gateway.database_url, records)
    recent = make_record(org.org_id, datetime.now(UTC) - timedelta(minutes=5), user_id="zed")
    insert_records(gateway.database_url, [recent])
    return org, records, recent


@pytest.fixture
def page(pages: Pages, seeded) -> Page:
    return pages.signed_in(seeded[0].key, viewport={"width": 1280, "height": 900})


def _ids(page: Page) -> list[str | None]:
    rows = page.locator("#requests-table tbody tr")
    return [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]


def test_page_size_older_and_newer(page, gateway):
    page.select_option("select[name=limit]", "25")
    page.click("#filters button[type=submit]")
    expect(page.locator("#requests-table tbody tr")).to_have_count(25)
    first = _ids(page)
    expect(page.locator("#newer")).to_have_count(0)  # the newest page
    page.click("#older")
    expect(page.locator("#requests-table tbody tr")).to_have_count(25)
    second = _ids(page)
    assert not set(first) & set(second)
    page.click("#older")
    third = _ids(page)
    page.click("#newer")
    assert _ids(page) == second
    page.click("#newer")
    assert _ids(page) == first
    expect(page.locator("#newer")).to_have_count(0)
    assert third and not set(third) & set(first + second)


def test_rows_are_one_line_and_times_relative(page, seeded):
    _org, _records, recent = seeded
    row = page.locator(f"#requests-table tbody tr[data-id='{recent.id}']")
    time = row.locator("time")
    expect(time).to_have_text(re.compile(r"^[5-9] min ago$"))  # 5 min old when seeded
    assert time.get_attribute("title") == recent.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    older = page.locator("#requests-table tbody tr").nth(1).locator("time")
    expect(older).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    heights = page.eval_on_selector_all(
        "#requests-table tbody tr", "rows => rows.map(r => r.getBoundingClientRect().height)"
    )
    assert max(heights) < 2 * min(heights), "every row is a single line"


def _latencies(page: Page) -> list[float]:
    cells = page.locator("#requests-table tbody tr td:nth-child(7)").all_inner_texts()
    return [float(c.replace(",", "").removesuffix(" ms").removesuffix(" s")) for c in cells]


def test_a_column_header_sorts_by_it_and_a_second_click_reverses(page, gateway, seeded):
    _org, records, recent = seeded
    everyone = [*records, recent]
    page.click("a.sort[data-sort=latency]")
    expect(page).to_have_url(re.compile(r"sort=latency"))
    expect(page.locator("th[aria-sort=descending] a")).to_have_text("Latency ▼")
    slowest = sorted(everyone, key=lambda r: (r.latency_ms, r.id), reverse=True)[:50]
    assert _ids(page) == [r.id for r in slowest]
    page.click("a.sort[data-sort=latency]")
    expect(page.locator("th[aria-sort=ascending] a")).to_have_text("Latency ▲")
    fastest = sorted(everyone, key=lambda r: (r.latency_ms, r.id))[:50]
    assert _ids(page) == [r.id for r in fastest]
    # A filter applied keeps the sort.
    page.fill("input[name=user_id]", "carol")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"order=asc"))
    carol = [r for r in everyone if r.user_id == "carol"]
    assert _ids(page) == [r.id for r in sorted(carol, key=lambda r: (r.latency_ms, r.id))][:50]
