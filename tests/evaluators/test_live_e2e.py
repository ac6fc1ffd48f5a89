"""Evaluators on live traffic: a sampled share of requests is evaluated after its
record is logged, off the hot path. The real openai SDK makes the requests; a slow
judge never slows them, and a full queue drops evaluations and counts the drops."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

from relayscope.evaluators.settings import EvaluatorSettings
from relayscope.store.scores import of_request
from relayscope.testing.fake_provider import Behaviour, FakeProvider
from relayscope.testing.waiting import async_wait_until

from .conftest import JUDGE_PROMPT, App, evaluator_app, judge_says


def sampler(a: App):  # type: ignore[no-untyped-def]
    live = a.gw.gateway.evaluators.sampler
    assert live is not None
    return live


async def sampled_judge(a: App) -> dict[str, object]:
    await a.gw.gateway.provider_keys.set(a.org_id, "openai", "sk-judge-key")
    return await a.create(
        name="judged",
        kind="llm_judge",
        config={"model": "gpt-4o-mini", "prompt": JUDGE_PROMPT},
        sample_rate=1,
    )


async def test_a_sampled_evaluator_scores_live_requests_by_itself(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        await a.create(name="echoed", kind="contains", config={"text": "echo"}, sample_rate=1)
        await a.create(name="never", kind="length", config={"max": 1}, sample_rate=0)
        asked = await a.ask("hello there")
        assert await a.score_of(asked, "echoed") is True
        assert "never" not in await a.scores(asked)

        # Another org's traffic is not this org's evaluators' business.
        store = a.gw.gateway.store
        other = await store.ensure_org("other")
        _info, other_key = await store.create_key(other.id)
        theirs = await a.ask("hello from elsewhere", **{"Helicone-Auth": f"Bearer {other_key}"})
        record = await async_wait_until(lambda: a.gw.gateway.logs.get_request(other.id, theirs))
        assert record.org_id == other.id
        mine = await a.ask("hello again")
        assert await a.score_of(mine, "echoed") is True  # sampled after theirs was seen
        assert await of_request(store.database, other.id, theirs) == []


async def test_the_sample_rate_picks_that_share_of_requests(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(tmp_path, fake.url, store_url) as a:
        await a.create(name="half", kind="length", config={"min": 1}, sample_rate=0.5)
        # A coin that alternates: below the rate, then above it.
        sampler(a).coin = itertools.cycle([0.25, 0.75]).__next__
        asked = []
        for i in range(6):
            asked.append(await a.ask(f"request {i}"))
            await a.gw.record(asked[-1])
            # The record went past the sampler (picked or not) before the next one.
            expected = (i + 2) // 2
            await async_wait_until(
                lambda n=expected: _true(sampler(a).stats.queued >= n)  # type: ignore[misc]
            )
        await sampler(a).drain(timeout=10)
        scored = [r for r in asked if "half" in await a.scores(r)]
        assert scored == asked[0::2]


async def _true(value: bool) -> bool:
    return value


async def test_a_slow_judge_never_slows_a_request(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(
        tmp_path, fake.url, store_url, evaluators=EvaluatorSettings(workers=1)
    ) as a:
        await sampled_judge(a)
        judge_delay = 3.0
        fake.enqueue(Behaviour(), judge_says("Verdict: PASS", delay_s=judge_delay))
        first = await a.ask("Is water wet?")
        calls = fake.calls
        # The judge's call of the first request has reached the provider, which holds it.
        await async_wait_until(lambda: _true(fake.calls > calls))
        judging_since = time.monotonic()

        timings = []
        for i in range(3):
            started = time.monotonic()
            await a.ask(f"quick {i}")
            timings.append(time.monotonic() - started)
        # Each request was answered in a fraction of the judge's delay while it judged.
        assert max(timings) < judge_delay / 3, timings
        assert time.monotonic() - judging_since < judge_delay
        assert await a.scores(first) == {}

        assert await a.score_of(first, "judged", timeout=judge_delay + 10) is True
        await sampler(a).drain(timeout=30)
        # Four requests, four judge calls: the judge's own records were not judged.
        assert sampler(a).stats.evaluated == 4


async def test_a_full_queue_drops_evaluations_and_counts_them_in_metrics(
    tmp_path: Path, fake: FakeProvider, store_url: str
) -> None:
    async with evaluator_app(
        tmp_path, fake.url, store_url, evaluators=EvaluatorSettings(workers=1, queue_size=1)
    ) as a:
        before = _dropped(await a.api.get("/metrics"))
        await sampled_judge(a)
        fake.enqueue(Behaviour(), judge_says("Verdict: PASS", delay_s=2.0))
        await a.ask("first")
        calls = fake.calls
        await async_wait_until(lambda: _true(fake.calls > calls))
        # The worker is busy with the first; one more fits the queue, two are dropped.
        for i in range(3):
            await a.gw.record(await a.ask(f"more {i}"))
        await async_wait_until(
            lambda: _true(sampler(a).stats.queued + sampler(a).stats.dropped == 4)
        )
        assert sampler(a).stats.dropped == 2
        assert _dropped(await a.api.get("/metrics")) == before + 2


def _dropped(response: object) -> float:
    text = response.text  # type: ignore[attr-defined]
    found = re.search(r"^relayscope_evaluations_dropped_total (\S+)$", text, re.MULTILINE)
    assert found is not None, "the counter is exposed"
    return float(found.group(1))
