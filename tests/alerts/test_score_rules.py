"""``score_avg`` rules: the average of a score over the window's scored requests fires
an alert below a threshold, and resolves when it recovers."""

from __future__ import annotations

import pytest

from relayscope.alerts.rules import parse_rule
from relayscope.errors import BadRequest
from relayscope.store import scores


async def scored(harness, *values, name: str = "accuracy") -> None:
    for value in values:
        [made] = await harness.seed(1)
        await scores.save(harness.store.database, harness.org_id, made.id, {name: value})


async def test_an_average_score_below_the_threshold_fires_and_resolves(harness, receiver):
    channel = await harness.webhook(f"{receiver.url}/quality")
    rule = await harness.rule(
        metric="score_avg",
        score="accuracy",
        comparison="<",
        threshold=0.5,
        window="5m",
        min_requests=3,
        channels=[channel],
        name="accuracy dropped",
    )
    await harness.seed(5)  # unscored requests do not count
    await scored(harness, 0.1, 0.2)
    assert await harness.tick() == [], "two scored requests are under min_requests"

    harness.clock.advance(minutes=1)
    await scored(harness, 0.3)
    [fired] = await harness.tick()
    assert fired.kind == "firing" and fired.value == pytest.approx(0.2)
    assert fired.request_count == 3
    [hit] = receiver.wait_for("/quality")
    assert "average score accuracy < 0.5 over 5m" in hit.json()["rule"]["description"]

    harness.clock.advance(minutes=1)
    await scored(harness, 1.0, 1.0, 1.0, 1.0)
    [resolved] = await harness.tick()
    assert resolved.kind == "resolved" and resolved.value == pytest.approx(4.6 / 7)
    stored = await harness.repo.get_rule(harness.org_id, rule.id)
    assert stored.spec.score == "accuracy"


async def test_negative_feedback_share_fires(harness):
    await harness.rule(
        metric="score_avg",
        score=scores.FEEDBACK,
        comparison="<=",
        threshold=0.5,
        window="1h",
        min_requests=2,
    )
    await scored(harness, True, False, False, name=scores.FEEDBACK)
    [fired] = await harness.tick()
    assert fired.value == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    "definition,param",
    [
        ({"metric": "score_avg"}, "score"),
        ({"metric": "score_avg", "score": ""}, "score"),
        ({"metric": "score_avg", "score": "x" * 65}, "score"),
        ({"metric": "cost_usd", "score": "accuracy"}, "score"),
    ],
)
def test_a_score_rule_names_its_score(definition, param):
    with pytest.raises(BadRequest) as refused:
        parse_rule({"name": "r", "threshold": 1, "window": "5m", **definition})
    assert refused.value.param == param
