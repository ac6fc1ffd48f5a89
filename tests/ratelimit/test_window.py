"""The sliding log on a controlled clock: exact quotas, no edge bursts, bounded memory."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from relayscope.ratelimit.window import RESOLUTION, SlidingLog, admits


def run(arrivals_ms: list[float], quota: int, window: int) -> list[float]:
    """Admitted times of requests costing 1 arriving at ``arrivals_ms`` (sorted)."""
    log = SlidingLog(window)
    admitted = []
    for now in arrivals_ms:
        log.prune(now)
        if admits(log.total, 1, quota):
            log.add(now, 1)
            admitted.append(now)
    return admitted


def test_a_fixed_window_edge_gives_no_second_burst():
    # A fixed-window counter would admit 10 just before t=60 s and 10 more just after.
    before = [59_990.0 + i for i in range(10)]
    after = [60_010.0 + i for i in range(10)]
    admitted = run(before + after, quota=10, window=60)
    assert admitted == before
    # The ten uses share one tick (60 ms), so they leave together, when the last does.
    assert run([*before, 119_998.0], quota=10, window=60) == before
    assert run([*before, 119_999.0], quota=10, window=60) == [*before, 119_999.0]


@settings(max_examples=200, deadline=None)
@given(
    quota=st.integers(1, 8),
    window=st.integers(1, 5),
    gaps=st.lists(st.floats(0, 700, allow_nan=False), min_size=1, max_size=120),
)
def test_quota_holds_in_every_window_and_capacity_returns_within_a_tick(quota, window, gaps):
    arrivals = []
    now = 0.0
    for gap in gaps:
        now += gap
        arrivals.append(now)
    admitted = run(arrivals, quota, window)
    window_ms = window * 1000
    # Never more than `quota` in any window of `window` seconds...
    for i in range(len(admitted) - quota):
        assert admitted[i + quota] - admitted[i] >= window_ms
    # ...and a request is refused only if `quota` were admitted within the last
    # window plus one tick (the price of merging uses in the same tick).
    tick_ms = window_ms / RESOLUTION
    admitted_set = set(admitted)
    for t in arrivals:
        if t not in admitted_set:
            recent = [a for a in admitted if t - window_ms - tick_ms < a <= t]
            assert len(recent) >= quota


def test_refusal_says_when_capacity_returns_to_the_millisecond():
    log = SlidingLog(10)
    for now in (0.0, 2_000.0, 2_500.0):
        log.add(now, 1)
    now = 3_000.0
    assert not admits(log.total, 1, 3)
    assert log.wait_ms(now, 1, 3) == 10_000 - now
    assert log.reset_ms(now) == 10_000 - now
    log.prune(9_999.0)
    assert not admits(log.total, 1, 3)
    log.prune(10_000.0)
    assert admits(log.total, 1, 3)
    assert log.total == 2


def test_memory_is_bounded_by_the_resolution_not_the_quota():
    log = SlidingLog(60)
    for i in range(200_000):
        now = i * 0.3  # 200k uses over one minute
        log.prune(now)
        log.add(now, 1)
    assert log.total == 200_000
    assert len(log.entries) <= RESOLUTION + 1


def test_cents_are_admitted_while_anything_is_left_and_waits_cover_the_spend():
    log = SlidingLog(60)
    assert admits(log.total, 0, 1.0)
    log.add(0.0, 0.6)
    assert admits(log.total, 0, 1.0)
    log.add(10_000.0, 0.6)
    assert not admits(log.total, 0, 1.0)
    # The first charge leaving is enough: 0.6 left is under the quota of 1.
    assert log.wait_ms(20_000.0, 0, 1.0) == 60_000 - 20_000
