"""The analytics API on known records: sums, groupings, time buckets, exact
percentiles, users, properties, sessions, validation and org scoping."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from relayscope.testing import dataset as ds
from relayscope.testing.dataset import DAY, NEXT_DAY

END = NEXT_DAY + timedelta(days=1)


@pytest.fixture(scope="module")
def seeded(gateway):
    """Org A with the known dataset, org B with records that must never leak into A."""
    a, b = gateway.new_org(), gateway.new_org()
    records = ds.dataset(a.org_id)
    ds.insert(gateway.database_url, records)
    ds.insert(gateway.database_url, ds.other_org_dataset(b.org_id))
    return a, b, records


def get(gateway, org, path, **params):
    with gateway.api(org) as api:
        response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (DAY, END),  # whole hours: rollups
        (DAY + timedelta(hours=10, minutes=20), DAY + timedelta(hours=11, minutes=7)),  # partial
        (None, None),  # all time
    ],
)
def test_summary_totals(gateway, seeded, since, until):
    org, _other, records = seeded
    params = {}
    if since:
        params = {"from": iso(since), "to": iso(until)}
        records = ds.within(records, since, until)
    data = get(gateway, org, "/api/analytics/summary", **params)["data"]
    assert data["requests"] == len(records)
    assert data["errors"] == sum(ds.is_error(r) for r in records)
    assert data["error_rate"] == pytest.approx(data["errors"] / len(records))
    assert data["rate_limited"] == sum(r.rate_limited for r in records)
    assert data["cache_hits"] == sum(r.cache_hit for r in records)
    assert data["prompt_tokens"] == sum(r.prompt_tokens or 0 for r in records)
    assert data["total_tokens"] == sum(r.total_tokens or 0 for r in records)
    assert data["cost_usd"] == pytest.approx(sum(r.cost_usd or 0 for r in records))
    assert data["avg_latency_ms"] == pytest.approx(
        sum(r.latency_ms for r in records) / len(records)
    )


def test_summary_filters_use_the_same_filters_as_the_explorer(gateway, seeded):
    org, _other, records = seeded
    for params, keep in [
        ({"user_id": "alice"}, lambda r: r.user_id == "alice"),
        ({"property.feature": "chat"}, lambda r: r.properties.get("feature") == "chat"),
        ({"model": "gpt-4o"}, lambda r: r.request_model == "gpt-4o"),
        ({"status": "error"}, ds.is_error),
        ({"search": "hello", "user_id": "carol"}, lambda r: r.user_id == "carol"),
        (
            {"provider": "anthropic", "user_id": "bob"},
            lambda r: r.provider == "anthropic" and r.user_id == "bob",
        ),
    ]:
        data = get(gateway, org, "/api/analytics/summary", **params)["data"]
        chosen = [r for r in records if keep(r)]
        assert data["requests"] == len(chosen), params
        assert data["cost_usd"] == pytest.approx(sum(r.cost_usd or 0 for r in chosen)), params


def test_summary_search_counts_only_the_records_that_match(gateway):
    """The seeded dataset's bodies all say "hello", so a search there excludes nothing;
    here each word is in some records only, and the summary must count just those."""
    org = gateway.new_org()

    def chat(at_minute: int, content: str, answer: str, cost: float):
        return ds.make(
            org.org_id,
            DAY + timedelta(minutes=at_minute),
            request_body=f'{{"messages": [{{"role": "user", "content": "{content}"}}]}}',
            response_body=f'{{"choices": [{{"message": {{"content": "{answer}"}}}}]}}',
            cost_usd=cost,
            prompt_tokens=at_minute,
        )

    records = [
        chat(1, "Plan a trip to Lisbon", "Pack sunscreen", 1.0),
        chat(2, "Plan a trip to Paris", "Pack an umbrella", 2.0),
        chat(3, "What is in Lisbon harbour", "Ships", 4.0),
        chat(4, "Tell me a joke", "No", 8.0),
    ]
    ds.insert(gateway.database_url, records)
    for search, chosen in [
        ("lisbon", [0, 2]),
        ("paris", [1]),
        ("PACK", [0, 1]),  # in the answers only
        ("trip lisbon", [0]),  # every word must match
        ("madrid", []),
        (None, [0, 1, 2, 3]),
    ]:
        params = {} if search is None else {"search": search}
        data = get(gateway, org, "/api/analytics/summary", **params)["data"]
        assert data["requests"] == len(chosen), search
        assert data["cost_usd"] == pytest.approx(sum(records[i].cost_usd for i in chosen)), search
        assert data["prompt_tokens"] == sum(records[i].prompt_tokens for i in chosen), search
        listed = get(gateway, org, "/api/requests", **params)["data"]
        assert sorted(r["id"] for r in listed) == sorted(records[i].id for i in chosen), search


def test_org_scoping(gateway, seeded):
    org, other, records = seeded
    data = get(gateway, org, "/api/analytics/summary")["data"]
    assert data["requests"] == len(records)
    assert data["cost_usd"] < 100
    theirs = get(gateway, other, "/api/analytics/summary")["data"]
    assert theirs["requests"] == 3 and theirs["cost_usd"] == pytest.approx(300.0)
    users = [u["user_id"] for u in get(gateway, org, "/api/users", limit=1000)["data"]]
    assert "mallory" not in users
    values = get(gateway, org, "/api/properties/feature")["data"]
    assert "secret-feature" not in {v["value"] for v in values}
    session = get(gateway, org, "/api/sessions/sess-1")["data"]
    assert session["requests"] == 6 and session["name"] == "trip planner"


def test_cost_by_model_per_hour(gateway, seeded):
    org, _other, records = seeded
    since, until = DAY + timedelta(hours=9, minutes=30), DAY + timedelta(hours=12)
    data = get(
        gateway,
        org,
        "/api/analytics/timeseries",
        metric="cost",
        group_by="model",
        granularity="hour",
        **{"from": iso(since), "to": iso(until)},
    )["data"]
    assert data["unit"] == "USD"
    hours = [DAY + timedelta(hours=h) for h in (9, 10, 11)]
    assert data["buckets"] == [h.isoformat() for h in hours]
    expected = defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in ds.within(records, since, until):
        expected[r.request_model][hours.index(r.created_at.replace(minute=0, second=0))] += (
            r.cost_usd or 0
        )
    got = {s["group"]: s["values"] for s in data["series"]}
    assert set(got) == set(expected)
    for model, values in expected.items():
        assert got[model] == pytest.approx(values), model
    # biggest spender first
    totals = {m: sum(v) for m, v in expected.items()}
    assert data["series"][0]["group"] == max(totals, key=totals.get)


@pytest.mark.parametrize("group_by", ["user", "property:feature", "provider"])
def test_requests_grouped_per_day(gateway, seeded, group_by):
    org, _other, records = seeded
    data = get(
        gateway,
        org,
        "/api/analytics/timeseries",
        metric="requests",
        group_by=group_by,
        granularity="day",
        limit=50,
        **{"from": iso(DAY), "to": iso(END)},
    )["data"]
    assert data["buckets"] == [DAY.isoformat(), NEXT_DAY.isoformat()]

    def key(r):
        if group_by == "user":
            return r.user_id
        if group_by == "provider":
            return r.provider
        return r.properties.get("feature")

    expected = defaultdict(lambda: [0, 0])
    for r in records:
        if key(r) is not None:
            expected[key(r)][0 if r.created_at < NEXT_DAY else 1] += 1
    assert {s["group"]: s["values"] for s in data["series"]} == dict(expected)


def test_top_groups_and_other(gateway, seeded):
    org, _other, records = seeded
    data = get(
        gateway,
        org,
        "/api/analytics/timeseries",
        metric="requests",
        group_by="user",
        granularity="day",
        limit=2,
        **{"from": iso(DAY), "to": iso(END)},
    )["data"]
    names = [s["name"] for s in data["series"]]
    assert len(names) == 3 and names[-1] == "other"
    assert sum(sum(s["values"]) for s in data["series"]) == sum(1 for r in records if r.user_id)


def test_errors_and_error_rate_per_minute(gateway, seeded):
    org, _other, records = seeded
    since = DAY + timedelta(hours=10)
    until = since + timedelta(minutes=10)
    window = ds.within(records, since, until)
    base = {"granularity": "minute", "from": iso(since), "to": iso(until)}
    errors = get(gateway, org, "/api/analytics/timeseries", metric="errors", **base)["data"]
    rate = get(gateway, org, "/api/analytics/timeseries", metric="error_rate", **base)["data"]
    assert len(errors["buckets"]) == 10
    per_minute = defaultdict(lambda: [0, 0])
    for r in window:
        minute = int((r.created_at - since).total_seconds() // 60)
        per_minute[minute][0] += 1
        per_minute[minute][1] += ds.is_error(r)
    assert errors["series"][0]["values"] == [per_minute[m][1] for m in range(10)]
    assert rate["series"][0]["values"] == pytest.approx(
        [per_minute[m][1] / per_minute[m][0] for m in range(10)]
    )


def test_exact_percentiles_of_a_known_hour(gateway, seeded):
    org, _other, _records = seeded
    data = get(
        gateway,
        org,
        "/api/analytics/timeseries",
        metric="latency",
        granularity="hour",
        **{"from": iso(DAY + timedelta(hours=10)), "to": iso(DAY + timedelta(hours=11))},
    )["data"]
    assert data["unit"] == "ms"
    got = {s["stat"]: s["values"][0] for s in data["series"]}
    # latencies 1..100 ms: P50 = 50.5, P95 = 95.05, P99 = 99.01 (linear interpolation)
    assert got == pytest.approx({"p50": 50.5, "p95": 95.05, "p99": 99.01})


@pytest.mark.parametrize("granularity", ["hour", "day"])
@pytest.mark.parametrize("aligned", [True, False])
def test_exact_percentiles_match_a_sort(gateway, seeded, granularity, aligned):
    org, _other, records = seeded
    since = DAY if aligned else DAY + timedelta(hours=10, minutes=17)
    until = END if aligned else NEXT_DAY + timedelta(hours=5, minutes=41)
    data = get(
        gateway,
        org,
        "/api/analytics/timeseries",
        metric="latency",
        granularity=granularity,
        **{"from": iso(since), "to": iso(until)},
    )["data"]
    step = timedelta(hours=1) if granularity == "hour" else timedelta(days=1)
    series = {s["stat"]: s["values"] for s in data["series"]}
    checked = 0
    for i, bucket in enumerate(data["buckets"]):
        start = datetime.fromisoformat(bucket)
        window = ds.within(records, max(since, start), min(until, start + step))
        values = [r.latency_ms for r in window]
        if not values:
            assert series["p50"][i] is None
            continue
        checked += 1
        expected = ds.percentiles(values)
        got = [series["p50"][i], series["p95"][i], series["p99"][i]]
        assert got == pytest.approx(expected, abs=1e-3), bucket
    assert checked >= 2


def test_latency_grouped_by_model(gateway, seeded):
    org, _other, records = seeded
    data = get(
        gateway,
        org,
        "/api/analytics/timeseries",
        metric="latency",
        granularity="day",
        group_by="model",
        **{"from": iso(NEXT_DAY), "to": iso(END)},
    )["data"]
    for model in ("gpt-4o", "gpt-4o-mini"):
        values = [
            r.latency_ms for r in ds.within(records, NEXT_DAY, END) if r.request_model == model
        ]
        got = {s["stat"]: s["values"][0] for s in data["series"] if s["group"] == model}
        assert [got["p50"], got["p95"], got["p99"]] == pytest.approx(ds.percentiles(values))


def test_users(gateway, seeded):
    org, _other, records = seeded
    body = get(gateway, org, "/api/users", sort="requests", limit=3)
    users = {r.user_id for r in records if r.user_id}
    assert body["total"] == len(users)
    assert len(body["data"]) == 3
    counts = defaultdict(int)
    for r in records:
        if r.user_id:
            counts[r.user_id] += 1
    assert [u["requests"] for u in body["data"]] == sorted(counts.values(), reverse=True)[:3]
    carol = next(
        u for u in get(gateway, org, "/api/users", limit=100)["data"] if u["user_id"] == "carol"
    )
    mine = [r for r in records if r.user_id == "carol"]
    assert carol["requests"] == 10
    assert carol["errors"] == 1 and carol["error_rate"] == pytest.approx(0.1)
    assert carol["cost_usd"] == pytest.approx(0.09)
    assert carol["total_tokens"] == 1350
    assert carol["first_seen"] == min(r.created_at for r in mine).isoformat()
    assert carol["last_seen"] == max(r.created_at for r in mine).isoformat()


def test_properties(gateway, seeded):
    org, _other, records = seeded
    names = {p["name"]: p for p in get(gateway, org, "/api/properties")["data"]}
    assert names["feature"]["requests"] == sum(1 for r in records if "feature" in r.properties)
    assert names["feature"]["values"] == 2
    assert names["tier"] == {"name": "tier", "requests": 10, "values": 1}
    values = get(gateway, org, "/api/properties/feature", sort="requests")["data"]
    chat = [r for r in records if r.properties.get("feature") == "chat"]
    row = next(v for v in values if v["value"] == "chat")
    assert row["requests"] == len(chat)
    assert row["cost_usd"] == pytest.approx(sum(r.cost_usd or 0 for r in chat))
    assert row["avg_latency_ms"] == pytest.approx(sum(r.latency_ms for r in chat) / len(chat))
    assert row["error_rate"] == pytest.approx(sum(ds.is_error(r) for r in chat) / len(chat))
    partial = get(
        gateway,
        org,
        "/api/properties",
        **{"from": iso(DAY + timedelta(hours=11, minutes=12)), "to": iso(END)},
    )["data"]
    assert {p["name"]: p["requests"] for p in partial}["tier"] == 7


def test_sessions_list_and_tree(gateway, seeded):
    org, _other, records = seeded
    listed = get(gateway, org, "/api/sessions")["data"]
    assert [s["session_id"] for s in listed] == ["sess-1"]
    mine = [r for r in records if r.session_id == "sess-1"]
    s = listed[0]
    assert s["requests"] == 6 and s["errors"] == 0
    assert s["cost_usd"] == pytest.approx(sum(r.cost_usd for r in mine))
    end = max(r.created_at + timedelta(milliseconds=r.latency_ms) for r in mine)
    assert s["duration_ms"] == pytest.approx((end - mine[0].created_at).total_seconds() * 1000)
    detail = get(gateway, org, "/api/sessions/sess-1")["data"]
    root = detail["tree"][0]
    assert root["path"] == "/" and root["total_requests"] == 6
    assert len(root["requests"]) == 1  # the request without a path
    children = {c["path"]: c for c in root["children"]}
    assert set(children) == {"/plan", "/answer"}
    plan = children["/plan"]
    assert plan["total_requests"] == 4 and len(plan["requests"]) == 2
    assert [c["path"] for c in plan["children"]] == ["/plan/search"]
    assert len(plan["children"][0]["requests"]) == 2
    offsets = [r["offset_ms"] for r in detail["requests_list"]]
    assert offsets == [30_000 * i for i in range(6)]
    assert get(gateway, org, "/api/sessions", user_id="nobody")["data"] == []


def test_sessions_pagination(gateway, org):
    records = [
        ds.make(org.org_id, DAY + timedelta(minutes=i), session_id=f"s{i}") for i in range(5)
    ]
    ds.insert(gateway.database_url, records)
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = get(gateway, org, "/api/sessions", **params)
        seen += [s["session_id"] for s in body["data"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == ["s4", "s3", "s2", "s1", "s0"]


def test_replayed_records_are_counted_once(gateway, org):
    records = [ds.make(org.org_id, DAY + timedelta(minutes=i), cost_usd=1.0) for i in range(4)]
    ds.insert(gateway.database_url, records[:3])
    ds.insert(gateway.database_url, records)  # a spool replay: three are already stored
    data = get(gateway, org, "/api/analytics/summary")["data"]
    assert data["requests"] == 4 and data["cost_usd"] == pytest.approx(4.0)


def test_unknown_session_is_404(gateway, org):
    with gateway.api(org) as api:
        response = api.get("/api/sessions/nope")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        ("/api/analytics/timeseries", "metric=vibes", "metric"),
        ("/api/analytics/timeseries", "granularity=week", "granularity"),
        ("/api/analytics/timeseries", "group_by=colour", "group_by"),
        ("/api/analytics/timeseries", "group_by=property:", "group_by"),
        ("/api/analytics/timeseries", "limit=0", "limit"),
        (
            "/api/analytics/timeseries",
            "granularity=minute&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            "granularity",
        ),
        ("/api/analytics/summary", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "to"),
        ("/api/analytics/summary", "from=yesterday", "from"),
        ("/api/analytics/summary", "colour=blue", "colour"),
        ("/api/analytics/summary", "status=teapot", "status"),
        ("/api/users", "sort=height", "sort"),
        ("/api/users", "limit=100000", "limit"),
        ("/api/users", "offset=-1", "offset"),
        ("/api/properties", "user_id=x", "user_id"),
        ("/api/properties/feature", "sort=x", "sort"),
        ("/api/sessions", "cursor=bad!", "cursor"),
        ("/api/sessions", "model=x", "model"),
        ("/api/requests", "search=%21%21", "search"),
    ],
)
def test_bad_parameters_are_400_naming_them(gateway, org, path, query, param):
    with gateway.api(org) as api:
        response = api.get(f"{path}?{query}")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert f"'{param}'" in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/analytics/summary",
        "/api/analytics/timeseries",
        "/api/users",
        "/api/properties",
        "/api/properties/x",
        "/api/sessions",
        "/api/sessions/x",
    ],
)
def test_every_endpoint_needs_a_key(gateway, path):
    with gateway.http() as client:
        assert client.get(path).status_code == 401


def test_explorer_search_and_statuses(gateway, org):
    records = [
        ds.make(
            org.org_id,
            DAY + timedelta(minutes=1),
            request_body='{"messages": [{"role": "user", "content": "Plan a trip to Lisbon"}]}',
            response_body='{"choices": [{"message": {"content": "Pack sunscreen"}}]}',
        ),
        ds.make(org.org_id, DAY + timedelta(minutes=2), rate_limited=True, status=429),
        ds.make(org.org_id, DAY + timedelta(minutes=3), cache_hit=True),
    ]
    ds.insert(gateway.database_url, records)
    with gateway.api(org) as api:

        def ids(**params):
            response = api.get("/api/requests", params=params)
            assert response.status_code == 200, response.text
            return [r["id"] for r in response.json()["data"]]

        assert ids(search="lisbon") == [records[0].id]
        assert ids(search="SUNSCREEN trip") == [records[0].id]
        assert ids(search="lisbon paris") == []
        assert ids(status="rate_limited") == [records[1].id]
        assert ids(status="cached") == [records[2].id]
