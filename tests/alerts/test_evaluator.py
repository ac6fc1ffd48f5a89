"""Rules evaluated on seeded request records with a controllable clock: firing,
resolving and cooldown for every metric, notifications to a real local receiver."""

from __future__ import annotations

import pytest

from relayscope.alerts.outbound import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify

from .conftest import record

SECRET = "whsec-0123456789abcdef"


async def test_cost_rule_fires_then_resolves_with_signed_notifications(harness, receiver):
    channel = await harness.webhook(f"{receiver.url}/cost", SECRET)
    rule = await harness.rule(
        metric="cost_usd", threshold=1.0, window="5m", channels=[channel], name="spend"
    )
    await harness.seed(2, cost_usd=0.4)
    assert await harness.tick() == []
    assert (await harness.repo.get_rule(harness.org_id, rule.id)).state == "ok"

    harness.clock.advance(minutes=1)
    await harness.seed(1, cost_usd=0.4)
    [fired] = await harness.tick()
    assert fired.kind == "firing" and fired.value == pytest.approx(1.2)
    [hit] = receiver.wait_for("/cost")
    assert verify(SECRET, hit.body, hit.headers[SIGNATURE_HEADER.lower()])
    assert not verify("another-secret-000000", hit.body, hit.headers[SIGNATURE_HEADER.lower()])
    payload = hit.json()
    assert payload["type"] == "alert.firing"
    assert payload["rule"]["id"] == rule.id and payload["rule"]["name"] == "spend"
    assert payload["value"] == pytest.approx(1.2) and payload["request_count"] == 3
    assert payload["timestamp"] == int(harness.clock().timestamp())
    assert hit.headers[TIMESTAMP_HEADER.lower()] == str(payload["timestamp"])

    harness.clock.advance(minutes=5)  # every record is now out of the window
    [resolved] = await harness.tick()
    assert resolved.kind == "resolved" and resolved.value == 0
    [_, second] = receiver.wait_for("/cost", 2)
    assert second.json()["type"] == "alert.resolved"
    assert verify(SECRET, second.body, second.headers[SIGNATURE_HEADER.lower()])

    stored = await harness.repo.get_rule(harness.org_id, rule.id)
    assert stored.state == "resolved"
    history = await harness.events(rule.id)
    assert [e.kind for e in history] == ["resolved", "firing"]
    assert history[1].deliveries[0]["ok"] and history[1].deliveries[0]["attempts"] == 1


async def test_error_rate_needs_min_requests_before_it_fires(harness):
    rule = await harness.rule(metric="error_rate", threshold=20, window="5m", min_requests=10)
    await harness.seed(1, status=500, error="boom")
    assert await harness.tick() == [], "one failed request alone must not alert"
    assert (await harness.repo.get_rule(harness.org_id, rule.id)).value is None

    harness.clock.advance(minutes=1)
    await harness.seed(7)
    await harness.seed(2, status=429)  # 3 of 10 failed: 30 %
    [fired] = await harness.tick()
    assert fired.kind == "firing" and fired.value == pytest.approx(30.0)
    assert fired.request_count == 10

    harness.clock.advance(minutes=1)
    await harness.seed(20)  # 3 of 30: 10 %
    [resolved] = await harness.tick()
    assert resolved.kind == "resolved" and resolved.value == pytest.approx(10.0)


def interpolated(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * percent / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@pytest.mark.parametrize("metric", ["latency_p50", "latency_p95", "latency_p99"])
async def test_latency_percentile_rules(harness, metric):
    percent = int(metric.removeprefix("latency_p"))
    latencies = [float(v * 7 % 101) for v in range(1, 38)]  # 37 unsorted values
    await harness.seed_each("latency_ms", latencies)
    expected = interpolated(latencies, percent)
    rule = await harness.rule(
        metric=metric, threshold=expected - 0.01, window="10m", min_requests=5
    )
    [fired] = await harness.tick()
    assert fired.value == pytest.approx(expected)

    harness.clock.advance(minutes=1)
    await harness.seed(200, latency_ms=1.0)  # fast traffic pulls every percentile down
    [resolved] = await harness.tick()
    assert resolved.kind == "resolved" and resolved.value < expected
    assert (await harness.repo.get_rule(harness.org_id, rule.id)).state == "resolved"


async def test_relative_latency_compares_with_the_previous_window(harness):
    rule = await harness.rule(
        metric="latency_p95",
        mode="relative",
        comparison=">",
        threshold=50,
        window="5m",
        min_requests=5,
    )
    await harness.seed(20, ago=400, latency_ms=100.0)  # previous window: P95 100 ms
    await harness.seed(20, ago=60, latency_ms=140.0)  # current window: +40 %
    assert await harness.tick() == []
    assert (await harness.repo.get_rule(harness.org_id, rule.id)).value == pytest.approx(40.0)

    harness.clock.advance(minutes=1)
    await harness.seed(60, ago=30, latency_ms=250.0)  # P95 of the window is now 250: +150 %
    [fired] = await harness.tick()
    assert fired.kind == "firing"
    assert fired.value == pytest.approx(150.0) and fired.baseline == pytest.approx(100.0)


async def test_request_count_below_threshold_fires_when_traffic_stops(harness, receiver):
    channel = await harness.webhook(f"{receiver.url}/quiet")
    await harness.seed(10)
    await harness.rule(
        metric="request_count", comparison="<", threshold=5, window="5m", channels=[channel]
    )
    assert await harness.tick() == []
    harness.clock.advance(minutes=6)
    [fired] = await harness.tick()
    assert fired.kind == "firing" and fired.value == 0
    assert "request_count is 0 requests" in receiver.wait_for("/quiet")[0].json()["summary"]


async def test_token_rule_and_filters(harness):
    rule = await harness.rule(
        metric="tokens",
        comparison=">=",
        threshold=1000,
        window="1h",
        filters={"model": "gpt-4o", "user_id": "alice", "properties": {"feature": "chat"}},
    )
    matching = {"request_model": "gpt-4o", "user_id": "alice", "properties": {"feature": "chat"}}
    await harness.seed(4, total_tokens=200, **matching)
    await harness.seed(10, total_tokens=500, **{**matching, "user_id": "bob"})
    await harness.seed(10, total_tokens=500, **{**matching, "properties": {"feature": "search"}})
    await harness.seed(10, total_tokens=500, **{**matching, "request_model": "gpt-4o-mini"})
    assert await harness.tick() == []
    assert (await harness.repo.get_rule(harness.org_id, rule.id)).value == 800

    harness.clock.advance(minutes=1)
    await harness.seed(1, total_tokens=200, **matching)
    [fired] = await harness.tick()
    assert fired.value == 1000


async def test_other_orgs_records_do_not_count(harness, store):
    rule = await harness.rule(metric="request_count", threshold=0, window="5m")
    await store.insert_requests([record("some-other-org", harness.clock())])
    assert await harness.tick() == []
    assert (await harness.repo.get_rule(harness.org_id, rule.id)).value == 0


async def test_cooldown_keeps_a_flapping_metric_quiet(harness, receiver):
    channel = await harness.webhook(f"{receiver.url}/flap")
    rule = await harness.rule(
        metric="request_count", threshold=5, window="1m", cooldown="10m", channels=[channel]
    )

    async def burst():
        harness.clock.advance(minutes=2)
        await harness.seed(10)
        return [e.kind for e in await harness.tick()]

    async def quiet():
        harness.clock.advance(minutes=2)
        return [e.kind for e in await harness.tick()]

    assert await burst() == ["firing"]  # t=2m
    assert await quiet() == ["resolved"]  # t=4m
    assert await burst() == []  # t=6m: 4 minutes after the firing, still cooling down
    assert await quiet() == []
    assert await burst() == []  # t=10m: 8 minutes
    assert await quiet() == []
    assert await burst() == ["firing"]  # t=14m: cooldown over
    kinds = [r.json()["type"] for r in receiver.wait_for("/flap", 3)]
    assert kinds == ["alert.firing", "alert.resolved", "alert.firing"]
    assert [e.kind for e in await harness.events(rule.id)] == ["firing", "resolved", "firing"]


async def test_a_disabled_rule_is_not_evaluated(harness):
    rule = await harness.rule(metric="request_count", threshold=0, window="5m", enabled=False)
    await harness.seed(3)
    assert await harness.tick() == []
    assert (await harness.repo.get_rule(harness.org_id, rule.id)).evaluated_at is None
