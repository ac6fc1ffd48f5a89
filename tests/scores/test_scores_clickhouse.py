"""Scores when the request log lives in ClickHouse (the embedded engine, chDB): the
real openai SDK proxies through an in-process gateway, the app scores by raw HTTP,
and the scores show on the request, filter the explorer, chart in analytics by
model, prompt version and property, and drive a "score below X" alert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import openai

from relayscope.alerts.rules import parse_rule
from relayscope.store.clickhouse import ClickHouseLogStore
from relayscope.testing.fake_provider import FakeProvider
from relayscope.testing.loop_gateway import LoopGateway, running_gateway


@asynccontextmanager
async def clickhouse_gateway(tmp_path, fake: FakeProvider) -> AsyncIterator[LoopGateway]:
    async with running_gateway(tmp_path / "gw", fake.url, logs_url=f"chdb://{tmp_path}/chdb") as gw:
        assert isinstance(gw.gateway.logs, ClickHouseLogStore)
        # The API reads the key from Authorization; the proxy from Helicone-Auth.
        gw.client.headers["Authorization"] = gw.client.headers["Helicone-Auth"]
        yield gw


async def ask(gw: LoopGateway, model: str, text: str, **headers: str) -> str:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw.gateway),
        headers={"Helicone-Auth": gw.client.headers["Helicone-Auth"]},
    ) as http:
        sdk = openai.AsyncOpenAI(
            base_url="http://gateway/openai/v1", api_key="sk-client", http_client=http
        )
        raw = await sdk.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": text}], extra_headers=headers
        )
    request_id: str = raw.headers["helicone-id"]
    await gw.record(request_id)
    return request_id


async def score(gw: LoopGateway, request_id: str, **values: float | bool) -> None:
    answer = await gw.client.post(f"/v1/request/{request_id}/score", json={"scores": values})
    assert answer.status_code == 200, answer.text


async def test_scores_on_clickhouse_logs_show_filter_chart_and_alert(tmp_path, fake: FakeProvider):
    async with clickhouse_gateway(tmp_path, fake) as gw:
        mini_core = await ask(gw, "gpt-4o-mini", "one", **{"Helicone-Property-Team": "core"})
        mini_web = await ask(gw, "gpt-4o-mini", "two", **{"Helicone-Property-Team": "web"})
        big_core = await ask(gw, "gpt-4o", "three", **{"Helicone-Property-Team": "core"})
        unscored = await ask(gw, "gpt-4o", "four")
        await score(gw, mini_core, accuracy=0.9)
        await score(gw, mini_web, accuracy=0.2)
        await score(gw, big_core, accuracy=0.1)
        await score(gw, big_core, accuracy=0.7)  # a change: the newest value counts
        feedback = await gw.client.post(f"/v1/request/{mini_core}/feedback", json={"rating": True})
        assert feedback.status_code == 200, feedback.text

        # On the request.
        shown = (await gw.client.get(f"/api/requests/{big_core}")).json()["data"]
        assert shown["scores"] == {"accuracy": 0.7}

        # In the explorer's filters (read from ClickHouse, where the records are).
        async def ids(**query: str) -> set[str]:
            answer = await gw.client.get("/api/requests", params=query)
            assert answer.status_code == 200, answer.text
            return {r["id"] for r in answer.json()["data"]}

        assert await ids(**{"score.accuracy": "gte:0.5"}) == {mini_core, big_core}
        assert await ids(**{"score.accuracy": "lt:0.5"}) == {mini_web}
        assert await ids(feedback="true") == {mini_core}
        assert unscored in await ids()
        assert await ids(**{"score.accuracy": "gte:0.5", "property.team": "core"}) == {
            mini_core,
            big_core,
        }

        # In analytics: the average per model and per property, and the score names.
        async def averages(group_by: str) -> dict[str, float]:
            answer = await gw.client.get(
                "/api/analytics/timeseries",
                params={"metric": "score.accuracy", "group_by": group_by, "range": "1h"},
            )
            assert answer.status_code == 200, answer.text
            found = {}
            for series in answer.json()["data"]["series"]:
                [value] = [v for v in series["values"] if v is not None]
                found[series["name"]] = round(value, 6)
            return found

        assert await averages("model") == {"gpt-4o-mini": 0.55, "gpt-4o": 0.7}
        assert await averages("property:team") == {"core": 0.8, "web": 0.2}
        names = (await gw.client.get("/api/analytics/scores")).json()["data"]
        assert [(n["name"], n["requests"], n["boolean"]) for n in names] == [
            ("accuracy", 3, False),
            ("helicone-feedback", 1, True),
        ]

        # In alerts: the average over the window, measured in ClickHouse.
        alerts = gw.gateway.alerts
        rule = await alerts.repository.create_rule(
            gw.org_id,
            parse_rule(
                {
                    "name": "accuracy dropped",
                    "metric": "score_avg",
                    "score": "accuracy",
                    "comparison": "<",
                    "threshold": 0.7,
                    "window": "1h",
                    "min_requests": 3,
                }
            ),
        )
        event = await alerts.evaluator.evaluate(rule, datetime.now(UTC) + timedelta(seconds=1))
        assert event is not None and event.kind == "firing"
        assert round(event.value or 0, 6) == 0.6 and event.request_count == 3


async def test_another_orgs_scores_stay_out_of_its_filters_and_charts(tmp_path, fake: FakeProvider):
    async with clickhouse_gateway(tmp_path, fake) as gw:
        mine = await ask(gw, "gpt-4o-mini", "mine")
        await score(gw, mine, accuracy=1.0)
        other = await gw.gateway.store.ensure_org("other")
        _info, key = await gw.gateway.store.create_key(other.id)
        headers = {"Authorization": f"Bearer {key}"}
        listed = await gw.client.get(
            "/api/requests", params={"score.accuracy": "gte:0"}, headers=headers
        )
        assert listed.status_code == 200 and listed.json()["data"] == []
        names = await gw.client.get("/api/analytics/scores", headers=headers)
        assert names.json()["data"] == []
        refused = await gw.client.post(
            f"/v1/request/{mine}/score", json={"scores": {"accuracy": 0}}, headers=headers
        )
        assert refused.status_code == 404
        still = await gw.client.get("/api/requests", params={"score.accuracy": "eq:1"})
        assert [r["id"] for r in still.json()["data"]] == [mine]


async def test_retention_keeps_the_scores_of_records_held_in_clickhouse(
    tmp_path, fake: FakeProvider
):
    """Retention deletes a score whose record is not stored; with the records in
    ClickHouse, the SQL store has none of them, and every score used to go."""
    async with clickhouse_gateway(tmp_path, fake) as gw:
        kept = await ask(gw, "gpt-4o-mini", "keep my score")
        await score(gw, kept, accuracy=0.5)
        governance = gw.gateway.governance
        await governance.repo.set_retention(gw.org_id, 1)
        await governance.enforce_retention(now=datetime.now(UTC) + timedelta(days=2))
        shown = (await gw.client.get(f"/api/requests/{kept}")).json()["data"]
        assert shown["scores"] == {"accuracy": 0.5}
