"""LLM-as-judge end to end: the judge's prompt, filled with a request's input and
output, goes through the gateway itself to the (fake) provider; its answer becomes the
request's score, its own call is logged, priced and tagged, and never evaluated."""

from __future__ import annotations

from pathlib import Path

from relayscope.evaluators.model import EVALUATOR_PROPERTY
from relayscope.store.base import RequestFilter
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.waiting import async_wait_until

from .conftest import JUDGE_PROMPT, App, evaluator_app, judge_says


async def judge(a: App, name: str = "on-topic", **config: object) -> dict[str, object]:
    await a.gw.gateway.provider_keys.set(a.org_id, "openai", "sk-judge-key")
    return await a.create(
        name=name,
        kind="llm_judge",
        config={"model": "gpt-4o-mini", "prompt": JUDGE_PROMPT, **config},
    )


async def judge_calls(a: App, name: str, count: int = 1) -> list[object]:
    async def logged() -> list[object] | None:
        page = await a.gw.gateway.logs.list_requests(
            a.org_id,
            RequestFilter(properties=((EVALUATOR_PROPERTY, name),)),
            limit=10,
            cursor=None,
        )
        return list(page.records) if len(page.records) >= count else None

    return await async_wait_until(logged)


async def test_a_judge_runs_through_the_gateway_and_its_verdict_is_the_score(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        asked = await a.ask("What is the capital of France?")
        await a.gw.record(asked)
        evaluator = await judge(a)
        fake.enqueue(judge_says("The answer restates the question.\nVerdict: PASS"))
        run = await a.api.post(
            f"/api/evaluators/{evaluator['id']}/run", json={"request_ids": [asked]}
        )
        assert run.json()["data"]["results"] == [
            {"request_id": asked, "score": True, "error": None}
        ]
        assert await a.scores(asked) == {"on-topic": True}

        # The provider got the filled prompt, with the org's stored provider key.
        sent = fake.requests[-1]
        assert sent.headers["authorization"] == "Bearer sk-judge-key"
        prompt = sent.json["messages"][-1]["content"]
        assert "Question: What is the capital of France?" in prompt
        assert "Answer: Echo: What is the capital of France?" in prompt
        assert sent.json["model"] == "gpt-4o-mini" and sent.json["temperature"] == 0

        # Its own call is a normal record of the org: priced, tagged, not evaluated.
        (call,) = await judge_calls(a, "on-topic")
        assert call.cost_usd is not None and call.cost_usd > 0
        assert call.properties["relayscope-evaluated-request"] == asked
        assert await a.scores(call.id) == {}
        everything = await a.api.post(f"/api/evaluators/{evaluator['id']}/run")
        assert {r["request_id"] for r in everything.json()["data"]["results"]} == {asked}


async def test_a_numeric_judge_reads_its_scale(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        asked = await a.ask("Rate me")
        await a.gw.record(asked)
        evaluator = await judge(a, "quality", scale="number", min=1, max=10)
        fake.enqueue(judge_says('{"score": 7, "reason": "fine"}'))
        run = await a.api.post(
            f"/api/evaluators/{evaluator['id']}/run", json={"request_ids": [asked]}
        )
        assert run.json()["data"]["results"][0]["score"] == 7.0
        assert await a.scores(asked) == {"quality": 7.0}


async def test_an_unparsable_answer_is_a_failed_evaluation_not_a_crash(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        asked = await a.ask("Anything")
        await a.gw.record(asked)
        evaluator = await judge(a)
        fake.enqueue(judge_says("Hmm, it is hard to say."))
        run = await a.api.post(
            f"/api/evaluators/{evaluator['id']}/run", json={"request_ids": [asked]}
        )
        assert run.status_code == 200
        (result,) = run.json()["data"]["results"]
        assert result["score"] is None
        assert "could not read a boolean verdict" in result["error"]
        assert await a.scores(asked) == {}
        shown = (await a.api.get(f"/api/evaluators/{evaluator['id']}")).json()["data"]
        assert shown["failed"] == 1 and shown["scored"] == 0
        assert "could not read" in shown["last_error"]
        # The failed judge call still cost something, and is logged like any other.
        await judge_calls(a, "on-topic")


async def test_a_judge_without_a_provider_key_or_with_an_upstream_error_fails_cleanly(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        asked = await a.ask("Anything")
        await a.gw.record(asked)
        evaluator = await a.create(
            name="keyless",
            kind="llm_judge",
            config={"model": "gpt-4o-mini", "prompt": JUDGE_PROMPT},
        )
        path = f"/api/evaluators/{evaluator['id']}/run"
        calls = fake.calls
        run = await a.api.post(path, json={"request_ids": [asked]})
        assert "no openai provider key" in run.json()["data"]["results"][0]["error"]
        assert fake.calls == calls  # nothing was sent

        await a.gw.gateway.provider_keys.set(a.org_id, "openai", "sk-judge-key")
        fake.enqueue(Behaviour(status=500))
        run = await a.api.post(path, json={"request_ids": [asked]})
        error = run.json()["data"]["results"][0]["error"]
        assert error.startswith("the judge's call failed: HTTP 500")
