"""The dashboard's finish: every page passes axe-core's checks with no serious or
critical violation in light and dark mode, dark mode follows the OS, unknown pages
and failures get styled pages, and there is a favicon."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from relayscope.dashboard.admin import TABS as ADMIN_TABS
from relayscope.testing import dataset as ds
from relayscope.testing.orgs import OrgKey

from .browsing import Pages

# What the browser shows here does not depend on the store (its reads run on every
# backend in the API and in-process dashboard tests): one backend is enough.
pytestmark = [pytest.mark.browser, pytest.mark.any_store]


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def seeded(gateway) -> tuple[OrgKey, list[ds.LogRecord]]:
    org = gateway.new_org()
    records = ds.dataset(org.org_id)
    ds.insert(gateway.database_url, records)
    with gateway.api(org) as api:
        template = [{"role": "system", "content": "Answer {{customer}} briefly."}]
        assert api.post("/api/prompts", json={"id": "reply", "messages": template}).is_success
    return org, records


@pytest.fixture(params=["light", "dark"])
def page(request, pages: Pages, seeded) -> Page:
    return pages.signed_in(seeded[0].key, color_scheme=request.param)


def _pages(records: list[ds.LogRecord]) -> list[str]:
    one = records[0]
    session = next(r.session_id for r in records if r.session_id)
    return [
        "/dashboard/requests",
        "/dashboard/requests?user_id=carol",
        f"/dashboard/requests/{one.id}",
        "/dashboard/sessions",
        f"/dashboard/sessions/{session}",
        "/dashboard/users",
        "/dashboard/properties?name=feature",
        "/dashboard/analytics?range=30d",
        "/dashboard/prompts?id=reply",
        "/dashboard/evaluators",
        *(f"/dashboard/admin/{tab}" for tab, _label in ADMIN_TABS),
        "/dashboard/no-such-page",
    ]


def _serious(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


def test_no_serious_accessibility_violation_on_any_page(page, gateway, seeded):
    problems = {}
    for path in _pages(seeded[1]):
        page.goto(f"{gateway.url}{path}")
        page.wait_for_load_state("networkidle")
        found = _serious(page)
        if found:
            problems[path] = found
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_the_sign_in_page_is_accessible(browser, gateway):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{gateway.url}/dashboard/signin")
    assert _serious(page) == []
    context.close()


def _luminance(css_color: str) -> float:
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_dark_mode_follows_the_os(page, gateway):
    page.goto(f"{gateway.url}/dashboard/requests")
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    body = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    card = page.evaluate("getComputedStyle(document.querySelector('table.data')).backgroundColor")
    if dark:
        assert _luminance(body) < 0.2 and _luminance(text) > 0.7, (body, text)
    else:
        assert _luminance(body) > 0.9 and _luminance(text) < 0.3, (body, text)
    assert card != "rgba(0, 0, 0, 0)" or body  # the table sits on the page's colours


def test_an_unknown_page_is_a_styled_404(page, gateway):
    response = page.goto(f"{gateway.url}/dashboard/no-such-page")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.locator("header.top nav a")).to_have_count(9)  # the signed-in header
    page.get_by_role("link", name="Requests").first.click()
    expect(page).to_have_url(re.compile(r"/dashboard/requests$"))


def test_a_favicon_is_served_and_linked(page, gateway):
    page.goto(f"{gateway.url}/dashboard/requests")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert href is not None
    icon = page.request.get(f"{gateway.url}{href}")
    assert icon.status == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert page.request.get(f"{gateway.url}/favicon.ico").status == 200


def test_the_explorer_works_from_the_keyboard(page, gateway, seeded):
    page.goto(f"{gateway.url}/dashboard/requests")
    first = page.locator("#requests-table tbody tr").first
    target = first.get_attribute("data-id")
    link = first.locator("a").first
    for _ in range(60):  # Tab through the filters to the first row's link
        page.keyboard.press("Tab")
        if link.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("the first request's link cannot be reached with Tab")
    outline = link.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "the focused link must show where the focus is"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/dashboard/requests/{target}$"))
