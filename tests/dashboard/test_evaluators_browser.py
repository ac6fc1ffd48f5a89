"""The evaluators page in a real browser: an admin creates an evaluator (a bad regex
is refused with the API's message), runs it now over an explorer filter, sees the
verdicts and finds them on the request, then deletes it; axe-core finds no serious
violation. The requests are proxied by the gateway process."""

from __future__ import annotations

import re

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from relayscope.testing.orgs import create_org

from .browsing import shot, sign_in

# What the browser shows here does not depend on the store (its reads run on every
# backend in the API and in-process dashboard tests): one backend is enough.
pytestmark = [pytest.mark.browser, pytest.mark.any_store]
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def gateway(gateway_process):  # type: ignore[no-untyped-def]
    return gateway_process


@pytest.fixture(scope="module")
def asked(gateway):  # type: ignore[no-untyped-def]
    org = gateway.new_org()
    ids = {}
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        for team, question in (("support", "refund my order"), ("sales", "a quote please")):
            answer = client.post(
                "/openai/v1/chat/completions",
                headers={**org.auth, "Helicone-Property-Team": team},
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
            )
            assert answer.status_code == 200
            ids[team] = answer.headers["helicone-id"]
            gateway.record(org, ids[team])
    # Made in a fixture, not in a test: while a test drives the browser, Playwright marks
    # its loop as this thread's, and the helper's asyncio.run would refuse to start.
    proxy = create_org(gateway.database_url, role="proxy")
    return org, ids, proxy


def serious(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


def test_create_run_and_delete_an_evaluator(page: Page, gateway, asked) -> None:  # type: ignore[no-untyped-def]
    org, ids, _proxy = asked
    sign_in(page, gateway, org.key)
    page.click("nav >> text=Evaluators")
    expect(page).to_have_url(re.compile(r"/dashboard/evaluators$"))
    expect(page.locator("#no-evaluators")).to_be_visible()
    assert serious(page) == []

    # A regex that does not compile is refused with the API's message; the form keeps it.
    page.fill("input[name=name]", "mentions-refund")
    page.select_option("#evaluator-kind", "regex")
    page.fill("#evaluator-config", '{"pattern": "(refund"}')
    page.click("#create-evaluator button[type=submit]")
    expect(page.locator(".error")).to_contain_text("config.pattern")
    expect(page.locator("input[name=name]")).to_have_value("mentions-refund")
    shot(page, "evaluators-refused")

    page.fill("#evaluator-config", '{"pattern": "refund", "ignore_case": true}')
    page.click("#create-evaluator button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/evaluators$"))
    row = page.locator("#evaluators-table tbody tr[data-evaluator=mentions-refund]")
    expect(row).to_contain_text("regex")

    # Run it now over the support team's requests only.
    row.locator("input[name=filter]").fill("property.team=support")
    row.locator("button[type=submit]", has_text="Run").click()
    expect(page.locator("#run-result h2")).to_contain_text("1 scored, 0 failed")
    expect(page.locator("#run-table tbody tr")).to_have_count(1)
    expect(page.locator("#run-table")).to_contain_text(ids["support"])
    expect(page.locator("#run-table .badge.ok")).to_have_text("true")
    expect(row.locator("td").nth(3)).to_have_text("1")
    assert serious(page) == []
    shot(page, "evaluators-run")

    # The verdict is a score on the request.
    page.click(f"#run-table a[href$='{ids['support']}']")
    expect(page).to_have_url(re.compile(rf"/dashboard/requests/{ids['support']}$"))
    expect(page.locator("body")).to_contain_text("mentions-refund")

    page.goto(f"{gateway.url}/dashboard/evaluators")
    page.locator("#evaluators-table button[aria-label='Delete mentions-refund']").click()
    expect(page.locator("#no-evaluators")).to_be_visible()


def test_a_proxy_keys_session_sees_why_it_cannot_manage_evaluators(
    page: Page, gateway, asked
) -> None:  # type: ignore[no-untyped-def]
    proxy = asked[2]
    sign_in(page, gateway, proxy.key)
    page.goto(f"{gateway.url}/dashboard/evaluators")
    expect(page.locator(".error")).to_contain_text("admin key")
