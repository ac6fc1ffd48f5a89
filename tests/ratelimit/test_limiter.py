"""MemoryLimiter: all-or-nothing decisions over several counters, charges, forgetting."""

from __future__ import annotations

from relayscope.ratelimit.limiter import Check, MemoryLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_request_is_counted_on_every_counter_or_on_none():
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)
    loose = Check("loose", 100, 60, 1)
    tight = Check("tight", 2, 60, 1)
    assert all(o.allowed for o in limiter.decide_now("org", [loose, tight]))
    assert all(o.allowed for o in limiter.decide_now("org", [loose, tight]))
    refused = limiter.decide_now("org", [loose, tight])
    assert [o.allowed for o in refused] == [True, False]
    assert refused[0].used == 2, "the refused request was not counted on the loose counter"
    assert refused[1].reset == 60


def test_counters_are_per_org_and_per_window():
    limiter = MemoryLimiter(clock=Clock())
    check = Check("c", 1, 60, 1)
    assert limiter.decide_now("a", [check])[0].allowed
    assert not limiter.decide_now("a", [check])[0].allowed
    assert limiter.decide_now("b", [check])[0].allowed
    assert limiter.decide_now("a", [Check("c", 1, 30, 1)])[0].allowed


def test_outcomes_report_use_and_reset():
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)
    check = Check("c", 3, 10, 1)
    first = limiter.decide_now("org", [check])[0]
    assert (first.allowed, first.used, first.reset) == (True, 1, 10)
    clock.now += 4
    second = limiter.decide_now("org", [check])[0]
    assert (second.used, second.reset) == (2, 6)


def test_cents_are_charged_after_the_fact():
    clock = Clock()
    limiter = MemoryLimiter(clock=clock)
    cents = Check("spend", 1.0, 60, 0)
    assert limiter.decide_now("org", [cents])[0].allowed
    limiter.spend_now("org", [cents], 0.7)
    outcome = limiter.decide_now("org", [cents])[0]
    assert outcome.allowed and outcome.used == 0.7, "admitting takes nothing up front"
    limiter.spend_now("org", [cents], 0.7)
    refused = limiter.decide_now("org", [cents])[0]
    assert not refused.allowed and refused.reset == 60
    clock.now += 60
    assert limiter.decide_now("org", [cents])[0].allowed


def test_idle_counters_are_forgotten_a_few_per_decision():
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, sweep_interval=5)
    for user in range(200):
        limiter.decide_now("org", [Check(f"user-{user}", 5, 1, 1)])
    assert limiter.counters == 200
    clock.now += 6
    limiter.decide_now("org", [Check("active", 5, 1, 1)])
    assert limiter.counters == 201 - MemoryLimiter.SWEEP_BATCH
    for _ in range(3):
        limiter.decide_now("org", [Check("active", 5, 1, 1)])
    assert limiter.counters == 1
