"""The analytics panels' series on known records, on SQLite and Postgres: tokens by
kind, cache hits and the cost they saved, time to first token, latency split by a
group, top-N with "other", partial first and last buckets, and each series' explorer
filter. Every expected number is worked out here from the records themselves."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from relayscope.testing import dataset as ds

START = ds.PANEL_START
HOURS = [START + timedelta(hours=h) for h in range(3)]
END = START + timedelta(hours=3)
MODELS = ds.PANEL_MODELS


@pytest.fixture(scope="module")
def seeded(gateway):
    org, intruder = gateway.new_org(), gateway.new_org()
    records = ds.panel_dataset(org.org_id)
    ds.insert(gateway.database_url, records)
    ds.insert(gateway.database_url, ds.panel_dataset(intruder.org_id))  # must never show
    return org, records


def series(gateway, org, since=START, until=END, **params):
    with gateway.api(org) as api:
        response = api.get(
            "/api/analytics/timeseries",
            params={"from": iso(since), "to": iso(until), "granularity": "hour", **params},
        )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def hour_of(r):
    return HOURS.index(r.created_at.replace(minute=0, second=0, microsecond=0))


def per_hour(records, value):
    out = [0.0, 0.0, 0.0]
    for r in records:
        out[hour_of(r)] += value(r)
    return out


@pytest.mark.parametrize(
    ("since", "until"),
    [(START, END), (START + timedelta(minutes=20), END - timedelta(minutes=15))],
    ids=["whole-hours", "cut-hours"],
)
def test_tokens_split_into_prompt_cached_and_completion(gateway, seeded, since, until):
    org, records = seeded
    chosen = ds.within(records, since, until)
    data = series(gateway, org, since, until, metric="token_kinds")
    assert data["unit"] == "tokens"
    got = {s["name"]: s["values"] for s in data["series"]}
    assert list(got) == ["prompt", "cached", "completion"]
    assert got["cached"] == per_hour(chosen, lambda r: r.cache_read_tokens or 0)
    assert got["prompt"] == per_hour(chosen, lambda r: r.prompt_tokens - (r.cache_read_tokens or 0))
    assert got["completion"] == per_hour(chosen, lambda r: r.completion_tokens)
    assert sum(got["cached"]) > 0
    # Stacked, the three are every token of the hour.
    stacked = [sum(v) for v in zip(*got.values(), strict=True)]
    assert stacked == per_hour(chosen, lambda r: r.total_tokens)


def test_token_kinds_take_no_group(gateway, seeded):
    org, _records = seeded
    with gateway.api(org) as api:
        response = api.get(
            "/api/analytics/timeseries", params={"metric": "token_kinds", "group_by": "model"}
        )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "group_by"


def test_cache_hit_rate_and_cost_saved(gateway, seeded):
    org, records = seeded
    hits = [r for r in records if r.cache_hit]
    rate = series(gateway, org, metric="cache_hit_rate")
    assert rate["unit"] == "fraction"
    counts = per_hour(records, lambda r: 1)
    expected_rate = [h / n for h, n in zip(per_hour(hits, lambda r: 1), counts, strict=True)]
    assert rate["series"][0]["values"] == pytest.approx(expected_rate)
    saved = series(gateway, org, metric="cost_saved")
    assert saved["unit"] == "USD"
    # What the hits would have cost had the provider answered them.
    assert saved["series"][0]["values"] == pytest.approx(per_hour(hits, lambda r: r.cost_saved_usd))
    assert sum(saved["series"][0]["values"]) > 0
    with gateway.api(org) as api:
        summary = api.get(
            "/api/analytics/summary", params={"from": iso(START), "to": iso(END)}
        ).json()["data"]
    assert summary["cache_hits"] == len(hits)
    assert summary["cache_hit_rate"] == pytest.approx(len(hits) / len(records))
    assert summary["cost_saved_usd"] == pytest.approx(sum(r.cost_saved_usd for r in hits))
    assert summary["cache_read_tokens"] == sum(r.cache_read_tokens or 0 for r in records)


def test_cost_saved_by_model_keeps_the_top_two(gateway, seeded):
    org, records = seeded
    data = series(gateway, org, metric="cost_saved", group_by="model", limit=2)
    saved = defaultdict(float)
    for r in records:
        saved[r.request_model] += r.cost_saved_usd or 0
    top = sorted(saved, key=lambda m: (-saved[m], m))[:2]
    assert [s["name"] for s in data["series"]] == [*top, "other"]
    rest = [r for r in records if r.request_model not in top and r.cache_hit]
    assert data["series"][2]["values"] == pytest.approx(per_hour(rest, lambda r: r.cost_saved_usd))


def test_time_to_first_token_of_streams(gateway, seeded):
    org, records = seeded
    data = series(gateway, org, metric="ttft")
    assert data["unit"] == "ms"
    got = {s["stat"]: s["values"] for s in data["series"]}
    assert list(got) == ["p50", "p95"]
    for hour in range(3):
        values = [r.ttft_ms for r in records if r.stream and hour_of(r) == hour]
        p50, p95, _p99 = ds.percentiles(values)
        assert got["p50"][hour] == pytest.approx(p50, abs=1e-3)
        assert got["p95"][hour] == pytest.approx(p95, abs=1e-3)


@pytest.mark.parametrize("metric", ["latency", "ttft"])
def test_percentiles_split_by_model_with_other(gateway, seeded, metric):
    org, records = seeded
    data = series(gateway, org, metric=metric, group_by="model", limit=2, stat="p95")
    kept = [r for r in records if metric == "latency" or r.stream]
    counts = defaultdict(int)
    for r in kept:
        counts[r.request_model] += 1
    top = sorted(counts, key=lambda m: (-counts[m], m))[:2]
    assert [s["name"] for s in data["series"]] == [f"{top[0]} p95", f"{top[1]} p95", "other p95"]
    for s in data["series"]:
        for hour in range(3):
            mine = [
                r
                for r in kept
                if hour_of(r) == hour
                and (r.request_model == s["group"] if s["group"] else r.request_model not in top)
            ]
            values = [r.latency_ms if metric == "latency" else r.ttft_ms for r in mine]
            expected = ds.percentiles(values)[1] if values else None
            assert s["values"][hour] == pytest.approx(expected, abs=1e-3), (s["name"], hour)


@pytest.mark.parametrize(
    ("since", "until"),
    [(START, END), (START + timedelta(minutes=20), END - timedelta(minutes=15))],
    ids=["whole-hours", "cut-hours"],
)
def test_average_latency_split_by_user_with_other(gateway, seeded, since, until):
    org, records = seeded
    chosen = [r for r in ds.within(records, since, until) if r.user_id]
    data = series(gateway, org, since, until, metric="avg_latency", group_by="user", limit=3)
    assert data["unit"] == "ms"
    counts = defaultdict(int)
    for r in chosen:
        counts[r.user_id] += 1
    top = sorted(counts, key=lambda u: (-counts[u], u))[:3]
    assert [s["name"] for s in data["series"]] == [*top, "other"]
    for s in data["series"]:
        for hour in range(3):
            mine = [
                r.latency_ms
                for r in chosen
                if hour_of(r) == hour
                and (r.user_id == s["group"] if s["group"] else r.user_id not in top)
            ]
            assert s["values"][hour] == pytest.approx(sum(mine) / len(mine)), s["name"]


def test_top_n_lumps_the_rest_into_other(gateway, seeded):
    org, records = seeded
    for limit in (1, 3, 5):
        data = series(gateway, org, metric="cost", group_by="model", limit=limit)
        names = [s["name"] for s in data["series"]]
        assert len(names) == min(limit, len(MODELS)) + (limit < len(MODELS))
        assert sum(sum(s["values"]) for s in data["series"]) == pytest.approx(
            sum(r.cost_usd for r in records)
        )


def test_partial_first_and_last_buckets_are_flagged(gateway, seeded):
    org, records = seeded
    since, until = START + timedelta(minutes=20), END - timedelta(minutes=15)
    data = series(gateway, org, since, until, metric="requests")
    assert data["partial"] == [True, False, True]
    assert data["spans"] == [
        [since.isoformat(), HOURS[1].isoformat()],
        [HOURS[1].isoformat(), HOURS[2].isoformat()],
        [HOURS[2].isoformat(), until.isoformat()],
    ]
    assert data["series"][0]["values"] == per_hour(ds.within(records, since, until), lambda r: 1)
    aligned = series(gateway, org, metric="requests")
    assert aligned["partial"] == [False, False, False]


@pytest.mark.parametrize(
    ("group_by", "field"),
    [
        ("model", "model"),
        ("user", "user_id"),
        ("property:feature", "property.feature"),
    ],
)
def test_each_series_names_the_explorer_filter_for_its_requests(gateway, seeded, group_by, field):
    org, records = seeded
    data = series(gateway, org, metric="requests", group_by=group_by, limit=2)
    *groups, other = data["series"]
    assert other["name"] == "other" and other["filter"] is None
    since, until = (datetime.fromisoformat(t) for t in data["spans"][1])
    for s in groups:
        assert s["filter"] == {field: s["group"]}
        with gateway.api(org) as api:
            listed = api.get(
                "/api/requests",
                params={**s["filter"], "from": iso(since), "to": iso(until), "limit": 500},
            ).json()["data"]
        group_of = {
            "model": lambda r: r.request_model,
            "user": lambda r: r.user_id,
            "property:feature": lambda r: r.properties["feature"],
        }[group_by]
        expected = [r for r in ds.within(records, since, until) if group_of(r) == s["group"]]
        assert sorted(r["id"] for r in listed) == sorted(r.id for r in expected)
        assert s["values"][1] == len(expected) > 0
    ungrouped = series(gateway, org, metric="requests")
    assert ungrouped["series"][0]["filter"] == {}


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"metric": "latency", "stat": "p42"}, "stat"),
        ({"metric": "ttft", "stat": "p99"}, "stat"),
        ({"metric": "cost", "stat": "p50"}, "stat"),
    ],
)
def test_bad_stat_is_400(gateway, seeded, params, param):
    org, _records = seeded
    with gateway.api(org) as api:
        response = api.get("/api/analytics/timeseries", params=params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
