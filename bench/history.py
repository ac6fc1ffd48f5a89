"""Every benchmark run, kept: a history judged by the median over runs of one commit.

Each full run appends one compact JSON line to ``results/history.jsonl`` (never
rewritten): the gateway's commit, the machine's calibration figure (the upstream's
own CPU µs a request: how fast the machine was), the load average, every target's
median figures and every goal's value. A goal is judged on the runs of the same
commit and load generator: the median, the spread, and how many runs met it, so a
re-run can never turn a miss into "met".

    python -m bench.history                      # goals per commit, newest first
    python -m bench.history add results/x.json   # keep an older report's run too
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.stats import median

HISTORY = "history.jsonl"
KEPT_FIGURES = (
    "overhead_p50_ms",
    "overhead_p99_ms",
    "ttfb_overhead_p50_ms",
    "ttfb_overhead_p99_ms",
    "rps",
    "cpu_us_per_request",
    "rss_mib",
    "lost",
    "requests_sent",
)


def calibration_us(result: dict[str, Any]) -> float | None:
    """The upstream's CPU µs a request when called directly, median over repeats."""
    rows = result.get("per_repeat") or []
    return median([row.get("direct_cpu_us") for row in rows])


def entry(result: dict[str, Any], *, source: str = "run") -> dict[str, Any]:
    """The compact history line for one report (``report.build``'s result)."""
    meta, config = result["meta"], result["config"]
    gateway = (meta.get("versions") or {}).get("relayscope") or {}
    summary = {
        name: {k: figures[k] for k in KEPT_FIGURES if figures.get(k) is not None}
        for name, figures in result["summary"].items()
    }
    return {
        "timestamp": meta["timestamp"],
        "commit": gateway.get("commit"),
        "source": source,
        "load_generator": config.get("load_generator"),
        "repeats": config.get("repeats"),
        "duration_s": config.get("duration_s"),
        "calibration_us": calibration_us(result),
        "loadavg_before": config.get("loadavg_before"),
        "summary": summary,
        "goals": [
            {"goal": g["goal"], "value": g["value"], "status": g["status"]}
            for g in [*result.get("goals", []), *result.get("feature_goals", [])]
        ],
    }


def append(result: dict[str, Any], results_dir: Path, *, source: str = "run") -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / HISTORY
    with path.open("a") as out:
        out.write(json.dumps(entry(result, source=source), separators=(",", ":")) + "\n")
    return path


def record(result: dict[str, Any], results_dir: Path) -> dict[str, Any]:
    """Append ``result`` to the history; the verdicts over its commit's runs, as JSON."""
    path = append(result, results_dir)
    line = entry(result)
    runs = same_commit(load(results_dir), line["commit"], line["load_generator"])
    return {
        "file": path.name,
        "runs": len(runs),
        "calibration_us": [r["calibration_us"] for r in runs],
        "verdicts": [{**asdict(v), "verdict": v.describe()} for v in judge(runs)],
    }


def load(results_dir: Path, name: str = HISTORY) -> list[dict[str, Any]]:
    path = results_dir / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class Verdict:
    goal: str
    judged: int
    """Runs that measured the goal."""
    met: int
    median: float | None
    low: float | None
    high: float | None

    def describe(self) -> str:
        """How many runs met it: "met" alone would hide a run that missed."""
        if not self.judged:
            return "not measured"
        return f"met in {self.met} of {self.judged} run{'s' if self.judged > 1 else ''}"


def same_commit(
    history: Iterable[dict[str, Any]], commit: str | None, load_generator: str | None
) -> list[dict[str, Any]]:
    return [
        e
        for e in history
        if e.get("commit") == commit and e.get("load_generator") == load_generator
    ]


def judge(runs: Sequence[dict[str, Any]]) -> list[Verdict]:
    """Each goal over ``runs`` (the runs of one commit), in first-seen order."""
    values: dict[str, list[float]] = {}
    met: dict[str, int] = {}
    for run in runs:
        for goal in run.get("goals", []):
            found = values.setdefault(goal["goal"], [])
            value = goal.get("value")
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            found.append(float(value))
            met[goal["goal"]] = met.get(goal["goal"], 0) + (goal.get("status") == "met")
    return [
        Verdict(
            goal=name,
            judged=len(found),
            met=met.get(name, 0),
            median=median(found),
            low=min(found) if found else None,
            high=max(found) if found else None,
        )
        for name, found in values.items()
    ]


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _span(values: Sequence[float]) -> str:
    if not values:
        return "not recorded"
    low, high = min(values), max(values)
    return _num(low) if low == high else f"{_num(low)}-{_num(high)}"


def markdown(
    verdicts: Sequence[Verdict], runs: Sequence[dict[str, Any]], name: str = HISTORY
) -> list[str]:
    calibrations = [r["calibration_us"] for r in runs if r.get("calibration_us") is not None]
    lines = [
        f"Judged over {len(runs)} run(s) of this commit with this load generator (every run "
        f"is kept in `{name}`); calibration (the upstream's own CPU µs a request) "
        + _span(calibrations)
        + ".",
        "",
        "| Goal | Median | Spread | Verdict |",
        "|---|---|---|---|",
    ]
    for v in verdicts:
        spread = f"{_num(v.low)} to {_num(v.high)}" if v.low is not None else "-"
        lines.append(f"| {v.goal} | {_num(v.median)} | {spread} | **{v.describe()}** |")
    return lines


def _print_history(results_dir: Path, name: str) -> None:
    history = load(results_dir, name)
    keys = list(dict.fromkeys((e.get("commit"), e.get("load_generator")) for e in history))
    for commit, generator in reversed(keys):
        runs = same_commit(history, commit, generator)
        print(
            f"\n## {commit} ({generator}), {len(runs)} run(s): "
            + ", ".join(r["timestamp"] for r in runs)
            + "\n"
        )
        print("\n".join(markdown(judge(runs), runs, name)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.split("\n")[0])
    ap.add_argument("--results-dir", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument(
        "--file", default=HISTORY, help=f"history file (default {HISTORY}; sustained-history.jsonl)"
    )
    sub = ap.add_subparsers(dest="command")
    add = sub.add_parser("add", help="append reports written before the history existed")
    add.add_argument("reports", nargs="+", type=Path)
    add.add_argument("--source", help="where the reports came from (default: their paths)")
    args = ap.parse_args(argv)
    if args.command == "add":
        for report in args.reports:
            source = args.source or str(report)
            path = append(json.loads(report.read_text()), args.results_dir, source=source)
            print(f"appended {report} to {path}")
        return 0
    _print_history(args.results_dir, args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
