"""Datasets and experiments in the dashboard, in a real browser: a dataset's expected
output is edited, an experiment is created from its page, its estimate confirmed, it
runs through the gateway process against the fake provider, and after scores are
posted on its outputs the comparison marks the right best variant per metric. Every
page passes axe-core with no serious violation."""

from __future__ import annotations

import re

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from .browsing import shot, sign_in

# What the browser shows here does not depend on the store (its reads run on every
# backend in the API and in-process dashboard tests): one backend is enough.
pytestmark = [pytest.mark.browser, pytest.mark.any_store]

SERIOUS = {"serious", "critical"}


def serious(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


@pytest.fixture(scope="module")
def gateway(gateway_process):
    return gateway_process


@pytest.fixture(scope="module")
def dataset(gateway, fake_server):
    org = gateway.new_org()
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        ids = []
        for question in ("What is 2+2?", "Name a colour"):
            answer = client.post(
                "/openai/v1/chat/completions",
                headers=org.auth,
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]},
            )
            assert answer.status_code == 200
            ids.append(answer.headers["helicone-id"])
        for request_id in ids:
            gateway.record(org, request_id)
        made = client.post(
            "/api/datasets", headers=org.bearer, json={"name": "questions", "request_ids": ids}
        )
        assert made.status_code == 201, made.text
    return org, made.json()["data"]["id"]


def test_run_an_experiment_from_a_dataset_and_see_the_best_variant(page, gateway, dataset):
    org, _dataset_id = dataset
    sign_in(page, gateway, org.key)
    page.click("nav >> text=Datasets")
    expect(page.locator("#datasets-table tbody tr")).to_have_count(1)
    assert serious(page) == []
    page.click("#datasets-table >> text=questions")

    rows = page.locator("#rows-table tbody tr")
    expect(rows).to_have_count(2)
    rows.nth(0).locator("textarea").fill("4")
    rows.nth(0).locator("button").click()
    expect(page.locator("#rows-table tbody tr >> nth=0 >> textarea")).to_have_value("4")
    assert serious(page) == []

    page.fill("#experiment-name", "mini vs big")
    page.fill("input[name=name0]", "mini")
    page.fill("input[name=model0]", "gpt-4o-mini")
    page.fill("input[name=name1]", "big")
    page.fill("input[name=model1]", "gpt-4o")
    page.fill("input[name=temperature1]", "0.2")
    page.click("#new-experiment button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/experiments/[0-9a-f-]+$"))
    expect(page.locator("#experiment-status")).to_have_attribute("data-status", "draft")
    expect(page.locator("#estimate")).to_contain_text("4 requests")
    expect(page.locator("#estimate")).to_contain_text("256 output tokens per request")
    assert serious(page) == []
    shot(page, "experiment-estimate")
    experiment_id = page.url.rsplit("/", 1)[1]

    page.click("#confirm-run")
    # The page reloads itself while the run goes on in the gateway, until it ends.
    expect(page.locator("#experiment-status")).to_have_attribute(
        "data-status", "completed", timeout=30_000
    )
    expect(page.locator("#experiment-status")).to_contain_text("4 of 4 requests done")

    with httpx.Client(base_url=gateway.url, timeout=10, headers=org.bearer) as client:
        compared = client.get(f"/api/experiments/{experiment_id}/comparison").json()["data"]
        for row in compared["rows"]:
            mini, big = row["outputs"]
            for cell, value in ((mini, 0.4), (big, 0.8)):
                posted = client.post(
                    f"/api/requests/{cell['request_id']}/score",
                    json={"scores": {"accuracy": value}},
                )
                assert posted.status_code == 200, posted.text

    page.reload()
    summary = page.locator("#summary-table")
    expect(
        summary.locator("tr[data-variant=big] td[data-metric='score.accuracy']")
    ).to_have_attribute("data-best", "1")
    expect(
        summary.locator("tr[data-variant=mini] td[data-metric='score.accuracy']")
    ).not_to_have_attribute("data-best", "1")
    expect(summary.locator("tr[data-variant=mini] td[data-metric=cost]")).to_have_attribute(
        "data-best", "1"
    )
    expect(summary.locator("tr[data-variant=big] td[data-metric=cost]")).not_to_have_attribute(
        "data-best", "1"
    )
    expect(
        summary.locator("tr[data-variant=big] td[data-metric='score.accuracy']")
    ).to_contain_text("0.8")
    cells = page.locator("#comparison-table tbody tr >> nth=0 >> td.cell-ok")
    expect(cells).to_have_count(2)
    expect(cells.nth(0)).to_contain_text("Echo: What is 2+2?")
    expect(page.locator("#comparison-table tbody tr >> nth=0")).to_contain_text("4")
    assert serious(page) == []
    shot(page, "experiment-comparison")
