"""Experiments end to end: a dataset runs against two variants through the gateway
(the fake provider upstream), with an estimate first; every output is a logged,
priced request tagged with the experiment and variant; scores posted on them decide
the comparison's best variant. In-process, on SQLite and Postgres."""

from __future__ import annotations

from typing import Any

from relayscope.experiments.repository import ExperimentRepository
from relayscope.store.sql import SqlStore
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.lab import Lab, lab
from relayscope.testing.waiting import async_wait_until

VARIANTS = [
    {"name": "mini", "model": "gpt-4o-mini"},
    {"name": "big", "model": "gpt-4o", "parameters": {"temperature": 0.2}},
]


async def dataset_of(a: Lab, *questions: str) -> str:
    ids = [await a.ask(q) for q in questions]
    made = await a.admin.post("/api/datasets", json={"name": "qs", "request_ids": ids})
    return str(made.json()["data"]["id"])


async def finished(a: Lab, experiment_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        body = (await a.reader.get(f"/api/experiments/{experiment_id}")).json()["data"]
        return body if body["status"] != "running" else None

    found = await async_wait_until(done, timeout=30, interval=0.05)
    assert found is not None
    return found


async def test_an_experiment_estimates_runs_through_the_gateway_and_compares(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        dataset_id = await dataset_of(a, "What is 2+2?", "Name a colour")
        calls_before = fake.calls
        made = await a.admin.post(
            "/api/experiments",
            json={"name": "mini vs big", "dataset_id": dataset_id, "variants": VARIANTS},
        )
        assert made.status_code == 201, made.text
        draft = made.json()["data"]
        estimate = draft["estimate"]
        assert draft["status"] == "draft" and fake.calls == calls_before  # nothing sent yet
        assert estimate["requests"] == 4 and estimate["assumed_output_tokens_per_request"] == 256
        by_name = {v["name"]: v for v in estimate["variants"]}
        assert 0 < by_name["mini"]["cost_usd"] < by_name["big"]["cost_usd"]
        assert (
            estimate["total_cost_usd"] == by_name["mini"]["cost_usd"] + by_name["big"]["cost_usd"]
        )

        started = await a.admin.post(f"/api/experiments/{draft['id']}/start")
        assert started.status_code == 202
        done = await finished(a, draft["id"])
        assert done["status"] == "completed"
        assert done["progress"] == {"total": 4, "done": 4, "succeeded": 4, "failed": 0}
        again = await a.admin.post(f"/api/experiments/{draft['id']}/start")
        assert again.status_code == 409

        comparison = (await a.reader.get(f"/api/experiments/{draft['id']}/comparison")).json()
        rows = comparison["data"]["rows"]
        assert [c["output"] for c in rows[0]["outputs"]] == ["Echo: What is 2+2?"] * 2
        # Each output is a logged, priced request tagged with the experiment and variant.
        for row in rows:
            for cell in row["outputs"]:
                record = await a.gw.record(cell["request_id"])
                assert record.properties["experiment"] == draft["id"]
                assert record.properties["experiment-variant"] == cell["variant"]
                assert record.request_model == (
                    "gpt-4o" if cell["variant"] == "big" else "gpt-4o-mini"
                )
                assert record.cost_usd is not None and record.cost_usd > 0

        # Scores posted on the outputs decide the best variant per score.
        for row in rows:
            mini, big = row["outputs"]
            await a.admin.post(
                f"/api/requests/{mini['request_id']}/score", json={"scores": {"accuracy": 0.5}}
            )
            await a.admin.post(
                f"/api/requests/{big['request_id']}/score", json={"scores": {"accuracy": 0.9}}
            )
        compared = (await a.reader.get(f"/api/experiments/{draft['id']}/comparison")).json()["data"]
        summary = {s["variant"]: s for s in compared["summary"]}
        assert summary["mini"]["mean_scores"] == {"accuracy": 0.5}
        assert summary["big"]["mean_scores"] == {"accuracy": 0.9}
        assert compared["best"]["score.accuracy"] == ["big"]
        assert compared["best"]["cost"] == ["mini"]
        assert summary["mini"]["total_cost_usd"] < summary["big"]["total_cost_usd"]


async def test_a_failing_row_is_recorded_and_the_run_goes_on(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        dataset_id = await dataset_of(a, "one", "two")
        made = await a.admin.post(
            "/api/experiments",
            json={
                "name": "x",
                "dataset_id": dataset_id,
                "variants": VARIANTS[:1],
                "concurrency": 1,
            },
        )
        experiment_id = made.json()["data"]["id"]
        fake.enqueue(Behaviour(status=400), Behaviour())
        await a.admin.post(f"/api/experiments/{experiment_id}/start")
        done = await finished(a, experiment_id)
        assert done["status"] == "completed"
        assert done["progress"]["failed"] == 1 and done["progress"]["succeeded"] == 1
        rows = (await a.reader.get(f"/api/experiments/{experiment_id}/comparison")).json()["data"][
            "rows"
        ]
        failed, ok = rows[0]["outputs"][0], rows[1]["outputs"][0]
        assert failed["status"] == "failed" and failed["error"].startswith("HTTP 400")
        assert ok["status"] == "ok" and ok["output"] == "Echo: two"


async def test_a_run_is_cancelled_midway_and_keeps_what_it_did(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        dataset_id = await dataset_of(a, "a", "b", "c", "d")
        made = await a.admin.post(
            "/api/experiments",
            json={
                "name": "slow",
                "dataset_id": dataset_id,
                "variants": VARIANTS[:1],
                "concurrency": 1,
            },
        )
        experiment_id = made.json()["data"]["id"]
        fake.set_default(Behaviour(delay_s=0.3))
        await a.admin.post(f"/api/experiments/{experiment_id}/start")

        async def one_done() -> bool:
            body = (await a.reader.get(f"/api/experiments/{experiment_id}")).json()["data"]
            return body["progress"]["done"] >= 1

        assert await async_wait_until(one_done, timeout=20, interval=0.02)
        cancelled = await a.admin.post(f"/api/experiments/{experiment_id}/cancel")
        assert cancelled.status_code == 200
        body = cancelled.json()["data"]
        assert body["status"] == "cancelled" and 1 <= body["progress"]["done"] < 4
        calls = fake.calls
        assert (await a.admin.post(f"/api/experiments/{experiment_id}/cancel")).status_code == 409
        assert fake.calls == calls  # nothing more was sent


async def test_bad_experiments_are_400s_naming_the_field(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        dataset_id = await dataset_of(a, "q")
        for body, param in [
            ({"name": "x", "dataset_id": dataset_id, "variants": []}, "variants"),
            (
                {
                    "name": "x",
                    "dataset_id": dataset_id,
                    "variants": [{"name": "a", "parameters": {"temperature": 9}}],
                },
                "variants[0].parameters.temperature",
            ),
            (
                {"name": "x", "dataset_id": dataset_id, "variants": [{"name": "a"}, {"name": "a"}]},
                "variants",
            ),
            (
                {"name": "x", "dataset_id": dataset_id, "variants": VARIANTS, "concurrency": 0},
                "concurrency",
            ),
            (
                {
                    "name": "x",
                    "dataset_id": dataset_id,
                    "variants": [{"name": "p", "prompt_id": "nope", "prompt_version": 1}],
                },
                "variants[0].prompt_version",
            ),
        ]:
            answer = await a.admin.post("/api/experiments", json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["error"]["param"] == param
        missing = await a.admin.post(
            "/api/experiments", json={"name": "x", "dataset_id": "nope", "variants": VARIANTS}
        )
        assert missing.status_code == 404


async def test_a_gateway_that_stops_mid_run_marks_it_interrupted(
    tmp_path, fake: FakeProvider, store_url: str
):
    async with lab(tmp_path, fake.url, store_url) as a:
        dataset_id = await dataset_of(a, "a", "b", "c")
        made = await a.admin.post(
            "/api/experiments",
            json={
                "name": "cut",
                "dataset_id": dataset_id,
                "variants": VARIANTS[:1],
                "concurrency": 1,
            },
        )
        experiment_id = made.json()["data"]["id"]
        fake.set_default(Behaviour(delay_s=0.5))
        await a.admin.post(f"/api/experiments/{experiment_id}/start")
    # The gateway has stopped; its store says what became of the run.
    store = SqlStore(store_url)
    try:
        org = await store.get_org("in-process")
        assert org is not None
        found = await ExperimentRepository(store.database).require(org.id, experiment_id)
        assert found.status == "interrupted" and found.finished_at is not None
    finally:
        await store.close()
