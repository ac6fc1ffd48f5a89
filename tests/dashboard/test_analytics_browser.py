"""The analytics page in Chromium on known records: the token, cache and TTFT panels,
latency split by the chosen group, the top-N selector, partial buckets drawn hatched
and dashed, a click on a point opening exactly that bucket's and group's requests,
and a requests chart that ignores the breakdown. Screenshots in test-artifacts/."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from relayscope.testing import dataset as ds

from .browsing import Pages, shot

pytestmark = pytest.mark.browser

START = ds.PANEL_START
HOURS = [START + timedelta(hours=h) for h in range(3)]
END = START + timedelta(hours=3)


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: Chromium reaches the dashboard by its URL."""
    return gateway_process


@pytest.fixture(scope="module")
def seeded(gateway):
    org, other = gateway.new_org(), gateway.new_org()
    records = ds.panel_dataset(org.org_id)
    ds.insert(gateway.database_url, records)
    ds.insert(gateway.database_url, ds.panel_dataset(other.org_id))
    return org, records


@pytest.fixture
def page(pages: Pages, seeded) -> Page:
    return pages.signed_in(seeded[0].key)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def open_analytics(page: Page, gateway, since=START, until=END, **params: str) -> None:
    query = {"from": iso(since), "to": iso(until), "granularity": "hour", **params}
    page.goto(f"{gateway.url}/dashboard/analytics?{urlencode(query)}")
    page.wait_for_selector("body[data-charts-ready='1']")


def charts(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const out = {};
            for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
                const c = Chart.getChart(canvas);
                out[canvas.dataset.chart] = {
                    type: c.config.type,
                    sets: Object.fromEntries(c.data.datasets.map(d => [d.label, d.data])),
                };
            }
            return out;
        }"""
    )


def hour_of(r) -> int:
    return HOURS.index(r.created_at.replace(minute=0, second=0, microsecond=0))


def per_hour(records, value) -> list[float]:
    out = [0.0, 0.0, 0.0]
    for r in records:
        out[hour_of(r)] += value(r)
    return out


def test_token_cache_and_ttft_panels(page, gateway, seeded):
    _org, records = seeded
    open_analytics(page, gateway)
    got = charts(page)
    tokens = got["tokens"]["sets"]
    assert list(tokens) == ["prompt", "cached", "completion"]
    assert tokens["cached"] == per_hour(records, lambda r: r.cache_read_tokens or 0)
    assert tokens["prompt"] == per_hour(
        records, lambda r: r.prompt_tokens - (r.cache_read_tokens or 0)
    )
    assert tokens["completion"] == per_hour(records, lambda r: r.completion_tokens)
    hits = [r for r in records if r.cache_hit]
    rate = next(iter(got["cache_hit_rate"]["sets"].values()))
    counts = per_hour(records, lambda r: 1)
    assert rate == pytest.approx(
        [100 * h / n for h, n in zip(per_hour(hits, lambda r: 1), counts, strict=True)]
    )
    saved = next(iter(got["cost_saved"]["sets"].values()))
    assert saved == pytest.approx(per_hour(hits, lambda r: r.cost_saved_usd))
    ttft = got["ttft"]["sets"]
    for hour in range(3):
        streamed = [r.ttft_ms for r in records if r.stream and hour_of(r) == hour]
        p50, p95, _p99 = ds.percentiles(streamed)
        assert ttft["p50"][hour] == pytest.approx(p50, abs=1e-3)
        assert ttft["p95"][hour] == pytest.approx(p95, abs=1e-3)
    totals = page.locator("#totals")
    expect(totals.locator("[data-metric=cache_hit_rate]")).to_have_text(
        f"{len(hits) / len(records) * 100:.1f}%"
    )
    expect(totals.locator("[data-metric=cost_saved_usd]")).to_have_text(
        f"${sum(r.cost_saved_usd for r in hits):,.4f}"
    )
    shot(page, "analytics-panels")


def test_latency_is_split_by_the_chosen_group(page, gateway, seeded):
    _org, records = seeded
    open_analytics(page, gateway, group_by="property:feature", latency_stat="p50")
    latency = charts(page)["latency_group"]["sets"]
    assert set(latency) == {"chat p50", "search p50", "summary p50"}
    for feature in ("chat", "search", "summary"):
        for hour in range(3):
            values = [
                r.latency_ms
                for r in records
                if r.properties["feature"] == feature and hour_of(r) == hour
            ]
            expected = ds.percentiles(values)[0]
            assert latency[f"{feature} p50"][hour] == pytest.approx(expected, abs=1e-3)
    expect(page.locator("#panel-latency_group h2")).to_contain_text("P50 by property feature")
    # By default the split is the average, which the hourly rollups answer.
    open_analytics(page, gateway, group_by="property:feature")
    average = charts(page)["latency_group"]["sets"]
    for feature in ("chat", "search", "summary"):
        mine = [r for r in records if r.properties["feature"] == feature]
        expected = [
            per_hour(mine, lambda r: r.latency_ms)[h] / per_hour(mine, lambda r: 1)[h]
            for h in range(3)
        ]
        assert average[feature] == pytest.approx(expected)
    expect(page.locator("#panel-latency_group h2")).to_contain_text("average by property")


def test_top_n_selector_lumps_the_rest_into_other(page, gateway, seeded):
    _org, records = seeded
    open_analytics(page, gateway, group_by="user")
    cost_by_user = defaultdict(float)
    for r in records:
        if r.user_id:
            cost_by_user[r.user_id] += r.cost_usd
    ranked = sorted(cost_by_user, key=lambda u: (-cost_by_user[u], u))
    assert len(ranked) == 7
    page.select_option("#top-n", "5")
    page.click("#analytics-form button[type=submit]")
    page.wait_for_selector("body[data-charts-ready='1']")
    expect(page).to_have_url(re.compile(r"top=5"))
    cost = charts(page)["cost"]["sets"]
    assert list(cost) == [*ranked[:5], "other"]
    rest = [r for r in records if r.user_id in ranked[5:]]
    assert cost["other"] == pytest.approx(per_hour(rest, lambda r: r.cost_usd))
    assert len(charts(page)["latency_group"]["sets"]) == 6  # five users and "other"
    page.select_option("#top-n", "10")
    page.click("#analytics-form button[type=submit]")
    page.wait_for_selector("body[data-charts-ready='1']")
    assert sorted(charts(page)["cost"]["sets"]) == sorted(ranked)


def test_partial_buckets_are_hatched_and_dashed(page, gateway, seeded):
    _org, records = seeded
    since, until = START + timedelta(minutes=20), END + timedelta(minutes=15)
    open_analytics(page, gateway, since, until)
    drawn = page.evaluate(
        """() => {
            const bar = Chart.getChart(document.getElementById("chart-requests"));
            const line = Chart.getChart(document.getElementById("chart-latency"));
            const dash = line.data.datasets[0].segment.borderDash;
            return {
                hatched: bar.getDatasetMeta(0).data.map(
                    e => e.options.backgroundColor instanceof CanvasPattern),
                dashed: [0, 1, 2].map(i => !!dash({p0DataIndex: i, p1DataIndex: i + 1})),
                requests: bar.data.datasets[0].data,
            };
        }"""
    )
    assert drawn["hatched"] == [True, False, False, True]
    assert drawn["dashed"] == [True, False, True]
    window = ds.within(records, since, until)
    assert drawn["requests"] == [*per_hour(window, lambda r: 1), 0]
    shot(page, "analytics-partial")


def _click_point(page: Page, chart: str, dataset: int, index: int) -> None:
    x, y = page.evaluate(
        """([chart, dataset, index]) => {
            const canvas = document.getElementById("chart-" + chart);
            canvas.scrollIntoView();
            const c = Chart.getChart(canvas);
            const el = c.getDatasetMeta(dataset).data[index];
            const box = canvas.getBoundingClientRect();
            const y = el.base === undefined ? el.y : (el.y + el.base) / 2;
            return [box.left + el.x, box.top + y];
        }""",
        [chart, dataset, index],
    )
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(r"/dashboard/requests\?"))


def _explorer_ids(page: Page) -> list[str]:
    expect(page).to_have_url(re.compile(r"/dashboard/requests\?"))
    page.wait_for_selector("#requests-table, .none")
    return page.locator("#requests-table tbody tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )


def test_clicking_a_bar_opens_that_bucket_and_model_in_the_explorer(page, gateway, seeded):
    _org, records = seeded
    open_analytics(page, gateway, group_by="model", top="5")
    name = charts(page)["cost"]
    model = list(name["sets"])[2]
    _click_point(page, "cost", 2, 1)
    query = parse_qs(urlparse(page.url).query)
    assert query["model"] == [model]
    assert query["from"] == [HOURS[1].isoformat()] and query["to"] == [HOURS[2].isoformat()]
    expected = [r.id for r in ds.within(records, HOURS[1], HOURS[2]) if r.request_model == model]
    assert 0 < len(expected) <= 50
    assert sorted(_explorer_ids(page)) == sorted(expected)


def test_clicking_a_line_point_opens_that_bucket_and_property(page, gateway, seeded):
    _org, records = seeded
    since = START + timedelta(minutes=30)
    open_analytics(page, gateway, since, END, group_by="property:feature", user_id="ana")
    latency = charts(page)["latency_group"]["sets"]
    labels = list(latency)
    feature = labels[0].removesuffix(" p95")
    _click_point(page, "latency_group", 0, 0)
    query = parse_qs(urlparse(page.url).query)
    # The first hour is partial: the explorer gets the part the range covers, and the
    # page's own filters come along.
    assert query["from"] == [since.isoformat()] and query["to"] == [HOURS[1].isoformat()]
    assert query["property.feature"] == [feature] and query["user_id"] == ["ana"]
    expected = [
        r.id
        for r in ds.within(records, since, HOURS[1])
        if r.properties["feature"] == feature and r.user_id == "ana"
    ]
    assert expected
    assert sorted(_explorer_ids(page)) == sorted(expected)


def test_requests_chart_does_not_follow_the_breakdown(page, gateway, seeded):
    _org, records = seeded
    for group_by in ("model", "user", "property:feature"):
        open_analytics(page, gateway, group_by=group_by)
        requests = charts(page)["requests"]["sets"]
        assert requests == {"requests": per_hour(records, lambda r: 1)}, group_by
        expect(page.locator("#panel-requests h2")).to_have_text("Requests (all)")


def test_the_panels_have_no_serious_accessibility_violation(page, gateway):
    open_analytics(page, gateway, START + timedelta(minutes=20), END, group_by="user", top="5")
    found = Axe().run(page).response["violations"]
    serious = [v["id"] for v in found if v["impact"] in ("serious", "critical")]
    assert serious == []
