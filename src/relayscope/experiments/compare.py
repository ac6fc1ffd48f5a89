"""An experiment side by side: per dataset row each variant's output, scores, cost and
latency, and per variant a summary with the best variant per metric marked.

Cost and latency are the log record's of each request, and scores the ones stored on
it (``store.scores``): a score posted or an evaluator's result shows here at once.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from relayscope.datasets.repository import Row
from relayscope.experiments.repository import OK, Experiment, Result
from relayscope.store import scores
from relayscope.store.base import LogStore
from relayscope.store.database import Database


async def measured(
    logs: LogStore, database: Database, org_id: str, request_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``{request id: {"cost_usd", "latency_ms", "scores"}}`` of the stored requests."""
    held = await scores.of_requests(database, org_id, request_ids)
    found: dict[str, dict[str, Any]] = {}
    for request_id in request_ids:
        record = await logs.get_request(org_id, request_id)
        found[request_id] = {
            "cost_usd": record.cost_usd if record is not None else None,
            "latency_ms": record.latency_ms if record is not None else None,
            "scores": scores.scores_json(held.get(request_id, []))["scores"],
        }
    return found


def comparison(
    experiment: Experiment,
    rows: Sequence[Row],
    results: Sequence[Result],
    measures: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    by_cell = {(r.row_id, r.variant): r for r in results}
    names = [v.name for v in experiment.variants]
    table: list[dict[str, Any]] = []
    for row in rows:
        cells: list[dict[str, Any]] = []
        for index in range(len(names)):
            result = by_cell.get((row.id, index))
            measure = measures.get(result.request_id or "", {}) if result else {}
            cells.append(
                {
                    "variant": names[index],
                    "status": result.status if result else "pending",
                    "request_id": result.request_id if result else None,
                    "output": result.output if result else None,
                    "error": result.error if result else None,
                    "cost_usd": measure.get("cost_usd"),
                    "latency_ms": measure.get("latency_ms"),
                    "scores": measure.get("scores", {}),
                }
            )
        table.append(
            {
                "row_id": row.id,
                "messages": row.messages,
                "expected": row.expected,
                "outputs": cells,
            }
        )
    summary = [_summary(name, [row["outputs"][i] for row in table]) for i, name in enumerate(names)]
    return {
        "experiment": experiment.to_json(),
        "rows": table,
        "summary": summary,
        "best": best(summary),
    }


def _summary(name: str, cells: list[dict[str, Any]]) -> dict[str, Any]:
    done = [c for c in cells if c["status"] == OK]
    costs = [c["cost_usd"] for c in done if c["cost_usd"] is not None]
    latencies = [c["latency_ms"] for c in done if c["latency_ms"] is not None]
    values: dict[str, list[float]] = {}
    for cell in done:
        for score, value in cell["scores"].items():
            values.setdefault(score, []).append(float(value))
    return {
        "variant": name,
        "succeeded": len(done),
        "failed": sum(1 for c in cells if c["status"] != OK and c["status"] != "pending"),
        "total_cost_usd": sum(costs) if costs else None,
        "p50_latency_ms": statistics.median(latencies) if latencies else None,
        "mean_scores": {score: statistics.fmean(v) for score, v in sorted(values.items())},
    }


def best(summary: list[dict[str, Any]]) -> dict[str, list[str]]:
    """For each metric the variants that do best: the lowest total cost and P50 latency,
    the highest mean of each score. Ties mark every variant that shares the best value."""
    marked: dict[str, list[str]] = {}
    _mark(marked, "cost", summary, lambda s: s["total_cost_usd"], lowest=True)
    _mark(marked, "latency", summary, lambda s: s["p50_latency_ms"], lowest=True)
    names = sorted({name for s in summary for name in s["mean_scores"]})
    for name in names:
        _mark(
            marked,
            f"score.{name}",
            summary,
            lambda s, n=name: s["mean_scores"].get(n),
            lowest=False,
        )
    return marked


def _mark(
    marked: dict[str, list[str]],
    metric: str,
    summary: list[dict[str, Any]],
    value_of: Any,
    *,
    lowest: bool,
) -> None:
    values = [(s["variant"], value_of(s)) for s in summary if value_of(s) is not None]
    if not values:
        return
    target = (min if lowest else max)(v for _n, v in values)
    marked[metric] = [n for n, v in values if v == target]
