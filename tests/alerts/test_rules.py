"""Rule parsing: defaults, round trips through storage, comparisons."""

from __future__ import annotations

import pytest

from relayscope.alerts.rules import parse_rule
from relayscope.errors import BadRequest


def test_defaults():
    spec = parse_rule({"name": " p95 ", "metric": "latency_p95", "threshold": 800, "window": "5m"})
    assert (spec.name, spec.comparison, spec.mode) == ("p95", ">", "absolute")
    assert spec.min_requests == 10 and spec.cooldown == 300 and spec.enabled
    assert spec.describe() == "latency_p95 > 800 ms over 5m"


def test_relative_description_and_storage_round_trip():
    data = {
        "name": "slower",
        "metric": "latency_p99",
        "mode": "relative",
        "threshold": 50,
        "comparison": ">=",
        "window": "1h",
        "cooldown": "0s",
        "min_requests": 3,
        "filters": {"provider": "anthropic", "properties": {"feature": "chat"}},
        "channels": ["a", "b", "a"],
    }
    spec = parse_rule(data)
    assert spec.describe() == "latency_p99 change >= 50% vs the previous 1h"
    assert spec.channels == ("a", "b") and spec.cooldown == 0
    assert parse_rule(spec.definition()) == spec


@pytest.mark.parametrize(
    ("comparison", "value", "breached"),
    [(">", 5, False), (">", 5.01, True), (">=", 5, True), ("<", 5, False), ("<=", 5, True)],
)
def test_comparisons(comparison, value, breached):
    spec = parse_rule(
        {"name": "c", "metric": "tokens", "comparison": comparison, "threshold": 5, "window": "1m"}
    )
    assert spec.breached(value) is breached


def test_a_list_is_not_a_rule():
    with pytest.raises(BadRequest, match="JSON object"):
        parse_rule([])
