"""``/api/evaluators`` end to end: an admin configures its org's evaluators over raw
HTTP, the real openai SDK makes requests through the gateway, and a run on demand over
an explorer filter stores its verdicts as scores the explorer filters by."""

from __future__ import annotations

from pathlib import Path

import pytest

from relayscope.testing.fake_provider import FakeProvider

from .conftest import evaluator_app


async def test_an_admin_creates_lists_changes_and_deletes_an_evaluator(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        created = await a.create(
            name="no-apology",
            kind="regex",
            config={"pattern": r"\bsorry\b", "expect": "no_match", "ignore_case": True},
            description="Answers do not apologise",
        )
        assert created["kind"] == "regex"
        assert created["sample_rate"] == 0
        assert created["config"] == {
            "pattern": r"\bsorry\b",
            "expect": "no_match",
            "field": "output",
            "ignore_case": True,
        }
        listed = (await a.api.get("/api/evaluators")).json()["data"]
        assert [e["id"] for e in listed] == [created["id"]]

        path = f"/api/evaluators/{created['id']}"
        changed = await a.api.patch(path, json={"sample_rate": 0.25, "config": {"pattern": "x"}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["data"]["sample_rate"] == 0.25
        assert changed.json()["data"]["config"]["pattern"] == "x"
        assert (await a.api.get(path)).json()["data"]["sample_rate"] == 0.25

        assert (await a.api.delete(path)).status_code == 204
        gone = await a.api.get(path)
        assert gone.status_code == 404
        assert gone.json()["error"]["type"] == "not_found_error"
        assert (await a.api.get("/api/evaluators")).json()["data"] == []


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "r", "kind": "regex", "config": {"pattern": "(unclosed"}}, "config.pattern"),
        ({"name": "r", "kind": "regex", "config": {"pattern": "a" * 5000}}, "config.pattern"),
        ({"name": "r", "kind": "telepathy", "config": {}}, "kind"),
        ({"name": "", "kind": "length", "config": {"max": 3}}, "name"),
        ({"name": "helicone-x", "kind": "length", "config": {"max": 3}}, "name"),
        ({"name": "r", "kind": "length", "config": {"max": 3}, "sample_rate": 2}, "sample_rate"),
        ({"name": "r", "kind": "length", "config": {"max": 3}, "sample_rate": True}, "sample_rate"),
        ({"name": "r", "kind": "length", "config": []}, "config"),
        ({"name": "r", "kind": "length"}, "config"),
        ({"name": "r", "kind": "length", "config": {"max": 3}, "colour": "red"}, "colour"),
        (
            {"name": "r", "kind": "json_schema", "config": {"schema": {"type": 12}}},
            "config.schema",
        ),
        (
            {"name": "j", "kind": "llm_judge", "config": {"model": "m", "prompt": "{{nope}}"}},
            "config.prompt",
        ),
    ],
)
async def test_bad_evaluators_are_openai_style_400s_naming_the_field(
    tmp_path: Path, fake: FakeProvider, store_url: str, body: dict[str, object], param: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        refused = await a.api.post("/api/evaluators", json=body)
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert error["param"] == param
        assert error["message"]
        assert (await a.api.get("/api/evaluators")).json()["data"] == []


async def test_evaluators_are_the_orgs_own_and_need_an_admin_key(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        mine = await a.create(name="short", kind="length", config={"max": 100})
        duplicate = await a.api.post(
            "/api/evaluators", json={"name": "short", "kind": "length", "config": {"max": 1}}
        )
        assert duplicate.status_code == 409
        assert duplicate.json()["error"]["code"] == "evaluator_exists"
        not_json = await a.api.post("/api/evaluators", content=b"{nope")
        assert not_json.status_code == 400

        store = a.gw.gateway.store
        other = await store.ensure_org("other")
        from relayscope.auth.keys import ADMIN

        _info, other_admin = await store.create_key(other.id, role=ADMIN)
        theirs = {"Authorization": f"Bearer {other_admin}"}
        path = f"/api/evaluators/{mine['id']}"
        assert (await a.api.get(path, headers=theirs)).status_code == 404
        assert (await a.api.delete(path, headers=theirs)).status_code == 404
        assert (await a.api.post(f"{path}/run", headers=theirs)).status_code == 404
        assert (await a.api.get("/api/evaluators", headers=theirs)).json()["data"] == []

        proxy_key = {"Authorization": a.gw.client.headers["Helicone-Auth"]}
        forbidden = await a.api.get("/api/evaluators", headers=proxy_key)
        assert forbidden.status_code == 403
        assert forbidden.json()["error"]["code"] == "admin_key_required"
        assert (await a.api.get(path)).status_code == 200


async def test_a_run_over_an_explorer_filter_scores_the_matching_requests(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        support = [
            await a.ask(f"refund order {i}", **{"Helicone-Property-Team": "support"})
            for i in range(3)
        ]
        sales = await a.ask("quote please", **{"Helicone-Property-Team": "sales"})
        for request_id in [*support, sales]:
            await a.gw.record(request_id)
        evaluator = await a.create(
            name="mentions-refund", kind="contains", config={"text": "REFUND"}
        )
        run = await a.api.post(
            f"/api/evaluators/{evaluator['id']}/run", params={"property.team": "support"}
        )
        assert run.status_code == 200, run.text
        summary = run.json()["data"]
        assert summary["scored"] == 3 and summary["failed"] == 0
        assert {r["request_id"] for r in summary["results"]} == set(support)
        # The fake echoes the prompt, so each answer holds "refund" (any case).
        assert all(r["score"] is True for r in summary["results"])
        assert await a.scores(sales) == {}

        # The verdicts are scores: on the request, and as an explorer filter.
        detail = (await a.api.get(f"/api/requests/{support[0]}")).json()["data"]
        assert detail["scores"] == {"mentions-refund": True}
        listed = await a.api.get("/api/requests", params={"score.mentions-refund": "true"})
        assert {r["id"] for r in listed.json()["data"]} == set(support)

        # The run is bounded by limit: the newest first.
        bounded = await a.api.post(f"/api/evaluators/{evaluator['id']}/run", params={"limit": 2})
        assert bounded.json()["data"]["scored"] == 2
        counted = (await a.api.get(f"/api/evaluators/{evaluator['id']}")).json()["data"]
        assert counted["scored"] == 5 and counted["failed"] == 0


async def test_a_run_over_chosen_requests_reports_the_unknown_ones(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        asked = await a.ask("a short one")
        await a.gw.record(asked)
        evaluator = await a.create(name="brief", kind="length", config={"max": 10})
        unknown = "00000000-0000-4000-8000-000000000000"
        run = await a.api.post(
            f"/api/evaluators/{evaluator['id']}/run", json={"request_ids": [asked, unknown]}
        )
        results = {r["request_id"]: r for r in run.json()["data"]["results"]}
        # "Echo: a short one" is 17 characters: over the bound, a false score.
        assert results[asked]["score"] is False
        assert results[unknown] == {
            "request_id": unknown,
            "score": None,
            "error": "no such request",
        }
        assert await a.scores(asked) == {"brief": False}

        for body, param in (
            ({"request_ids": []}, "request_ids"),
            ({"request_ids": "abc"}, "request_ids"),
            ({"ids": [asked]}, "ids"),
        ):
            refused = await a.api.post(f"/api/evaluators/{evaluator['id']}/run", json=body)
            assert refused.status_code == 400 and refused.json()["error"]["param"] == param
        both = await a.api.post(
            f"/api/evaluators/{evaluator['id']}/run",
            params={"model": "gpt-4o-mini"},
            json={"request_ids": [asked]},
        )
        assert both.status_code == 400
        for params, param in (({"limit": "0"}, "limit"), ({"colour": "x"}, "colour")):
            refused = await a.api.post(f"/api/evaluators/{evaluator['id']}/run", params=params)
            assert refused.status_code == 400 and refused.json()["error"]["param"] == param
