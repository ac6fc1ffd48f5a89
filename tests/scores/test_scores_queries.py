"""Scores filter the explorer and are averaged in analytics, by model, prompt version
and property, on SQLite and Postgres, with the request log in the SQL store or in
ClickHouse (chDB)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relayscope.record import LogRecord
from relayscope.store import scores
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import LoopGateway, running_gateway

HOUR = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
SEEDED = [
    # model, prompt version, feature, accuracy, helpful, feedback
    ("gpt-4o", 1, "chat", 0.2, False, False),
    ("gpt-4o", 2, "chat", 0.8, True, True),
    ("gpt-4o-mini", 2, "search", 1.0, True, None),
    ("gpt-4o-mini", 2, "search", None, None, True),
]


@pytest.fixture(params=["sql", "clickhouse"])
async def seeded(
    request, tmp_path, fake: FakeProvider, store_url
) -> AsyncIterator[tuple[LoopGateway, list[str]]]:
    logs_url = f"chdb://{tmp_path}/chdb" if request.param == "clickhouse" else None
    async with running_gateway(
        tmp_path / "gw", fake.url, database_url=store_url, logs_url=logs_url
    ) as gw:
        ids = []
        records = []
        for n, (model, version, feature, *_rest) in enumerate(SEEDED):
            ids.append(str(uuid.uuid4()))
            records.append(
                LogRecord(
                    id=ids[-1],
                    org_id=gw.org_id,
                    created_at=HOUR + timedelta(minutes=10 * n),
                    provider="openai",
                    path="/v1/chat/completions",
                    status=200,
                    latency_ms=5.0,
                    request_model=model,
                    prompt_id="support",
                    prompt_version=version,
                    properties={"feature": feature},
                )
            )
        await gw.gateway.logs.insert_requests(records)
        database = gw.gateway.store.database
        for request_id, (*_tags, accuracy, helpful, feedback) in zip(ids, SEEDED, strict=True):
            values: dict[str, scores.ScoreValue] = {}
            if accuracy is not None:
                values["accuracy"] = accuracy
            if helpful is not None:
                values["helpful"] = helpful
            if feedback is not None:
                values[scores.FEEDBACK] = feedback
            await scores.save(database, gw.org_id, request_id, values, logs=gw.gateway.logs)
        yield gw, ids


def api(gw: LoopGateway) -> httpx.AsyncClient:
    key = gw.client.headers["Helicone-Auth"]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw.gateway),
        base_url="http://gateway",
        headers={"Authorization": key},
    )


@pytest.mark.parametrize(
    "query,expected",
    [
        ("score.accuracy=gte:0.8", [1, 2]),
        ("score.accuracy=0.2", [0]),
        ("score.accuracy=lt:1", [0, 1]),
        ("score.accuracy=ne:0.2", [1, 2]),
        ("score.helpful=true", [1, 2]),
        ("score.helpful=false", [0]),
        ("feedback=true", [1, 3]),
        ("feedback=false", [0]),
        ("score.helpful=true&feedback=true", [1]),
        ("score.accuracy=gt:0.5&model=gpt-4o", [1]),
        ("score.nothing=gt:0", []),
    ],
)
async def test_scores_filter_the_explorer(seeded, query, expected):
    gw, ids = seeded
    async with api(gw) as client:
        page = await client.get(f"/api/requests?{query}")
    assert page.status_code == 200, page.text
    assert sorted(ids.index(r["id"]) for r in page.json()["data"]) == expected


@pytest.mark.parametrize(
    "query,param",
    [
        ("score.accuracy=about:1", "score.accuracy"),
        ("score.accuracy=gte:high", "score.accuracy"),
        ("score.accuracy=gte:nan", "score.accuracy"),
        ("score.=1", "score."),
        ("feedback=maybe", "feedback"),
    ],
)
async def test_bad_score_filters_are_400s_naming_the_parameter(seeded, query, param):
    gw, _ids = seeded
    async with api(gw) as client:
        refused = await client.get(f"/api/requests?{query}")
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == param


def window() -> str:
    since = HOUR.isoformat().replace("+00:00", "Z")
    until = (HOUR + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    return f"from={since}&to={until}&granularity=hour"


@pytest.mark.parametrize(
    "group_by,expected",
    [
        (None, {"score.accuracy": (2 / 3, 3)}),
        ("model", {"gpt-4o": (0.5, 2), "gpt-4o-mini": (1.0, 1)}),
        ("prompt", {"support v2": (0.9, 2), "support v1": (0.2, 1)}),
        ("property:feature", {"chat": (0.5, 2), "search": (1.0, 1)}),
    ],
)
async def test_analytics_average_a_score_over_time_by_group(seeded, group_by, expected):
    gw, _ids = seeded
    query = f"metric=score.accuracy&{window()}" + (f"&group_by={group_by}" if group_by else "")
    async with api(gw) as client:
        answer = await client.get(f"/api/analytics/timeseries?{query}")
    assert answer.status_code == 200, answer.text
    body = answer.json()["data"]
    assert body["unit"] == "score" and len(body["buckets"]) == 1
    found = {s["name"]: (s["values"][0], s["counts"][0]) for s in body["series"]}
    assert found.keys() == expected.keys()
    for name, (average, count) in expected.items():
        assert found[name][0] == pytest.approx(average) and found[name][1] == count


async def test_feedback_averages_to_the_share_of_positive_ratings(seeded):
    gw, _ids = seeded
    async with api(gw) as client:
        series = await client.get(
            f"/api/analytics/timeseries?metric=score.{scores.FEEDBACK}&{window()}"
        )
        names = await client.get(f"/api/analytics/scores?{window().rsplit('&', 1)[0]}")
    assert series.json()["data"]["series"][0]["values"] == [pytest.approx(2 / 3)]
    listed = {row["name"]: row for row in names.json()["data"]}
    assert listed["helpful"] == {
        "name": "helpful",
        "requests": 3,
        "average": pytest.approx(2 / 3),
        "boolean": True,
    }
    assert listed["accuracy"]["boolean"] is False and listed["accuracy"]["requests"] == 3
    assert listed[scores.FEEDBACK]["requests"] == 3


# The summary's totals read the SQL store's log and rollups: a ClickHouse log has none.
@pytest.mark.parametrize("seeded", ["sql"], indirect=True)
async def test_a_score_filter_narrows_analytics_too(seeded):
    gw, _ids = seeded
    async with api(gw) as client:
        summary = await client.get(
            f"/api/analytics/summary?feedback=true&{window().rsplit('&', 1)[0]}"
        )
    assert summary.status_code == 200, summary.text
    assert summary.json()["data"]["requests"] == 2


async def test_a_score_filter_combines_with_a_score_metric(seeded):
    gw, _ids = seeded
    query = f"metric=score.accuracy&feedback=true&score.helpful=true&{window()}"
    async with api(gw) as client:
        series = await client.get(f"/api/analytics/timeseries?{query}")
        names = await client.get("/api/analytics/scores?feedback=true")
    assert series.status_code == 200, series.text
    assert series.json()["data"]["series"][0]["values"] == [pytest.approx(0.8)]
    listed = {row["name"]: row["requests"] for row in names.json()["data"]}
    assert listed == {"accuracy": 1, "helpful": 1, scores.FEEDBACK: 2}
