"""Scores and feedback in the dashboard, in a real browser: the explorer filters by
feedback and by a score, a request's page shows its scores, and analytics charts the
average score. The requests are proxied by the gateway process, then scored at
Helicone's path."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import httpx
import orjson
import pytest
from playwright.sync_api import Page, expect

from .browsing import shot, sign_in

pytestmark = pytest.mark.browser

SCORED = [
    # question, accuracy, helpful, feedback
    ("capital of France", 0.9, True, True),
    ("capital of Peru", 0.4, False, False),
    ("capital of Chad", 0.85, True, None),
]


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


@pytest.fixture(scope="module")
def scored(gateway, fake_server):
    org = gateway.new_org()
    ids = {}
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        for question, accuracy, helpful, feedback in SCORED:
            answer = client.post(
                "/openai/v1/chat/completions",
                headers=org.auth,
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
            )
            assert answer.status_code == 200
            request_id = answer.headers["helicone-id"]
            ids[question] = request_id
            body = {"scores": {"accuracy": accuracy, "helpful": helpful}}
            posted = client.post(f"/v1/request/{request_id}/score", json=body, headers=org.bearer)
            assert posted.status_code == 200, posted.text
            if feedback is not None:
                rated = client.post(
                    f"/v1/request/{request_id}/feedback",
                    json={"rating": feedback},
                    headers=org.bearer,
                )
                assert rated.status_code == 200, rated.text
    return org, ids


def shown_ids(page: Page) -> set[str]:
    rows = page.locator("#requests-table tbody tr")
    return {rows.nth(i).get_attribute("data-id") for i in range(rows.count())}


def test_the_explorer_filters_by_feedback_and_score(page, gateway, scored):
    org, ids = scored
    sign_in(page, gateway, org.key)
    expect(page.locator("#requests-table tbody tr")).to_have_count(3)

    page.select_option("select[name=feedback]", "true")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"feedback=true"))
    assert shown_ids(page) == {ids["capital of France"]}

    page.goto(f"{gateway.url}/dashboard/requests")
    page.fill("input[name=score] >> nth=-1", "accuracy >= 0.8")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"score\.accuracy=gte"))
    assert parse_qs(urlparse(page.url).query) == {"score.accuracy": ["gte:0.8"]}
    assert shown_ids(page) == {ids["capital of France"], ids["capital of Chad"]}
    # The filter stays in the form, as typed.
    expect(page.locator("input[name=score] >> nth=0")).to_have_value("accuracy >= 0.8")
    shot(page, "requests-by-score")

    page.fill("input[name=score] >> nth=0", "accuracy about 1")
    page.click("#filters button[type=submit]")
    expect(page.locator(".error")).to_contain_text("accuracy >= 0.8")


def test_a_request_page_shows_its_scores_and_feedback(page, gateway, scored):
    org, ids = scored
    sign_in(page, gateway, org.key)
    page.goto(f"{gateway.url}/dashboard/requests/{ids['capital of Peru']}")
    card = page.locator("#scores")
    expect(card.locator(".score[data-name=accuracy]")).to_have_text("0.4")
    expect(card.locator(".score[data-name=helpful]")).to_have_text("false")
    expect(card.locator("#feedback")).to_contain_text("negative")
    shot(page, "request-scores")

    page.goto(f"{gateway.url}/dashboard/requests/{ids['capital of Chad']}")
    expect(page.locator("#scores #feedback")).to_have_count(0)


def test_analytics_chart_the_average_score(page, gateway, scored):
    org, _ids = scored
    sign_in(page, gateway, org.key)
    page.goto(f"{gateway.url}/dashboard/analytics?range=1h&score=accuracy&group_by=model")
    expect(page.locator("body")).to_have_attribute("data-charts-ready", "1")
    expect(page.locator("#panel-score h2")).to_have_text("Average score accuracy by model, top 10")
    data = orjson.loads(page.locator("#data-score").text_content() or "")
    [series] = data["series"]
    assert series["name"] == "gpt-4o-mini"
    scored_buckets = [(v, n) for v, n in zip(series["values"], series["counts"], strict=True) if n]
    assert sum(n for _v, n in scored_buckets) == 3
    total = sum(v * n for v, n in scored_buckets)
    assert total == pytest.approx(0.9 + 0.4 + 0.85)
    assert page.locator("#chart-score").evaluate("c => !!c.relayscopeChart")
    shot(page, "analytics-score")
