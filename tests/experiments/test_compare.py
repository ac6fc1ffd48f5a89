"""The comparison's summary and its best variant per metric."""

from __future__ import annotations

from datetime import UTC, datetime

from relayscope.datasets.repository import Row
from relayscope.experiments.compare import best, comparison
from relayscope.experiments.repository import Experiment, Result
from relayscope.experiments.variants import Variant

NOW = datetime.now(UTC)
ROWS = [
    Row(f"r{n}", "d", n, [{"role": "user", "content": str(n)}], None, None, None, "m", NOW)
    for n in range(3)
]
EXPERIMENT = Experiment(
    "e", "d", "x", [Variant("a"), Variant("b")], 2, {}, "completed", 6, 5, 1, NOW, NOW, NOW
)


def test_summary_means_totals_medians_and_failures():
    results = [
        Result(f"r{n}", v, "ok", f"{n}{v}", f"out{n}{v}", None) for n in range(3) for v in (0, 1)
    ]
    results[-1] = Result("r2", 1, "failed", None, None, "HTTP 500: boom")
    measures = {
        "00": {"cost_usd": 0.1, "latency_ms": 100.0, "scores": {"accuracy": 1.0}},
        "10": {"cost_usd": 0.1, "latency_ms": 300.0, "scores": {"accuracy": 0.0}},
        "20": {"cost_usd": 0.1, "latency_ms": 200.0, "scores": {}},
        "01": {"cost_usd": 0.5, "latency_ms": 50.0, "scores": {"accuracy": 1.0, "ok": True}},
        "11": {"cost_usd": 0.5, "latency_ms": 70.0, "scores": {"accuracy": 1.0}},
    }
    found = comparison(EXPERIMENT, ROWS, results, measures)
    a, b = found["summary"]
    assert a["mean_scores"] == {"accuracy": 0.5} and a["p50_latency_ms"] == 200.0
    assert a["total_cost_usd"] == 0.1 * 3 and a["failed"] == 0
    assert b["succeeded"] == 2 and b["failed"] == 1 and b["p50_latency_ms"] == 60.0
    assert b["mean_scores"] == {"accuracy": 1.0, "ok": 1.0}
    assert found["best"] == {
        "cost": ["a"],
        "latency": ["b"],
        "score.accuracy": ["b"],
        "score.ok": ["b"],
    }
    assert found["rows"][2]["outputs"][1]["error"] == "HTTP 500: boom"


def test_ties_mark_every_variant_and_missing_values_none():
    summary = [
        {"variant": "a", "total_cost_usd": 1.0, "p50_latency_ms": None, "mean_scores": {"s": 0.5}},
        {"variant": "b", "total_cost_usd": 1.0, "p50_latency_ms": None, "mean_scores": {"s": 0.5}},
    ]
    assert best(summary) == {"cost": ["a", "b"], "score.s": ["a", "b"]}
