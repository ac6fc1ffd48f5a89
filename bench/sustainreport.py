"""The sustained run's figures, goals, JSON, Markdown and history line.

`sustained-<store>.json` and `.md` hold the store's last run (the JSON with every
sample);
each run is also appended, as one compact line, to `sustained-history.jsonl`, in
the shape `bench/history.py` reads (`python -m bench.history --file
sustained-history.jsonl`). Its `load_generator` names the store and whether the
run was a full one (`--duration` of 30 minutes or more) or a short validation run,
so a goal is never judged over both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import history, output
from bench.soakreport import slope_per_min
from bench.stats import median

if TYPE_CHECKING:
    from bench.sustained import Options

FULL_RUN_S = 1800.0
TARGET_RECORDS_PER_S = 2000.0
TARGET_RSS_MIB = 200.0
HISTORY_FILE = "sustained-history.jsonl"


def queue_bound(rate: float) -> float:
    """The deepest queue still called bounded: a second of records, at least two
    batches (the writer takes 500 a batch, every 0.25 s at most)."""
    return max(1_000.0, rate)


def _goal(goal: str, value: float | None, met: bool | None, unit: str) -> dict[str, Any]:
    status = "n/a" if met is None else "met" if met else "missed"
    return {"goal": goal, "value": value, "unit": unit, "status": status}


def build(
    *,
    options: Options,
    facts: dict[str, Any],
    rate: float,
    found: float | None,
    ramp: list[dict[str, Any]],
    fixed: dict[str, Any],
    series: list[dict[str, Any]],
    idle_rss: float,
    drain_s: float,
    answered: int,
    lost: int | None,
    rows_before: int,
    rows_after: int | None,
    calibration_us: float | None,
    loadavg: tuple[tuple[float, ...], tuple[float, ...]],
) -> dict[str, Any]:
    step = fixed["steps"][0]
    during = [s for s in series if s["t"] <= options.duration]
    second_half = [s for s in during if s["t"] >= options.duration / 2]
    depths = [s["queue_depth"] for s in during if s["queue_depth"] is not None]
    late_depths = [s["queue_depth"] for s in second_half if s["queue_depth"] is not None]
    rss = [s["rss_mib"] for s in during]
    stored_rates = [s["stored_per_s"] for s in during[1:] if s.get("stored_per_s") is not None]
    bound = queue_bound(rate)
    bounded = bool(late_depths) and max(late_depths) <= bound
    stored = (rows_after or 0) - rows_before
    records_per_s = stored / options.duration
    rss_max = max(rss) if rss else None
    full = options.duration >= FULL_RUN_S
    figures = {
        "offered_per_s": rate,
        "answered_per_s": step["answered_per_s"],
        "records_per_s": round(records_per_s, 1),
        "stored_per_s_median": median(stored_rates),
        "queue_depth_max": max(depths) if depths else None,
        "queue_depth_max_second_half": max(late_depths) if late_depths else None,
        "queue_depth_end": depths[-1] if depths else None,
        "queue_bound": bound,
        "last_stored_age_max_s": max(
            (s["last_stored_age_s"] for s in during if s["last_stored_age_s"] is not None),
            default=None,
        ),
        "rss_idle_mib": round(idle_rss, 1),
        "rss_max_mib": rss_max,
        "rss_end_mib": rss[-1] if rss else None,
        "rss_slope_mib_per_min_second_half": _round(
            slope_per_min([(s["t"], s["rss_mib"]) for s in second_half])
        ),
        "writer_busy_pct_median": median(
            [s.get("writer_busy_pct") for s in during[1:] if s.get("writer_busy_pct") is not None]
        ),
        "gateway_cpu_pct_median": median(
            [s.get("cpu_pct") for s in during[1:] if s.get("cpu_pct") is not None]
        ),
        "rows_before": rows_before,
        "rows_after": rows_after,
        "store_mib_end": next(
            (s["store_mib"] for s in reversed(series) if s.get("store_mib") is not None), None
        ),
        "drain_s": drain_s,
        "answered_ids": answered,
        "lost": lost,
        "not_sent": step["not_sent"],
        "failed": step["failed"],
        "stale_retries": step.get("stale_retries"),
        "p50_ms": step["p50_ms"],
        "p99_ms": step["p99_ms"],
        "late_p99_ms": step["late_p99_ms"],
    }
    goals = [
        _goal(
            f"records/s sustained >= {TARGET_RECORDS_PER_S:,.0f}",
            figures["records_per_s"],
            records_per_s >= TARGET_RECORDS_PER_S,
            "records/s",
        ),
        _goal(
            "queue depth bounded (second half)",
            figures["queue_depth_max_second_half"],
            bounded,
            "records",
        ),
        _goal(
            f"RSS <= {TARGET_RSS_MIB:.0f} MiB",
            rss_max,
            None if rss_max is None else rss_max <= TARGET_RSS_MIB,
            "MiB",
        ),
        _goal("no record lost (by id)", lost, None if lost is None else lost == 0, "records"),
    ]
    versions = facts.get("versions") or {}
    return {
        "kind": "full" if full else "short validation run",
        "meta": facts,
        "config": {
            "store": options.store,
            "duration_s": options.duration,
            "rate": rate,
            "rate_given": options.rate,
            "ramp": options.ramp,
            "ramp_step_s": options.ramp_step_s,
            "sample_interval_s": options.sample_interval,
            "stream_share": options.stream_share,
            "max_connections": options.max_connections,
            "seed": options.seed,
            "load_generator": _generator(options.store, full, options.duration),
            "loadavg_before": [round(x, 2) for x in loadavg[0]],
            "loadavg_after": [round(x, 2) for x in loadavg[1]],
        },
        "commit": (versions.get("relayscope") or {}).get("commit"),
        "calibration_us": _round(calibration_us),
        "highest_bounded_rate": found,
        "ramp": ramp,
        "figures": figures,
        "goals": goals,
        "fixed": fixed,
        "series": series,
    }


def _generator(store: str, full: bool, duration: float) -> str:
    return f"sustainload/{store}/" + ("full" if full else f"validation-{duration:g}s")


def _round(value: float | None, digits: int = 2) -> float | None:
    return round(value, digits) if value is not None else None


def history_line(result: dict[str, Any]) -> dict[str, Any]:
    config = result["config"]
    return {
        "timestamp": result["meta"]["timestamp"],
        "commit": result["commit"],
        "source": "run",
        "kind": result["kind"],
        "load_generator": config["load_generator"],
        "duration_s": config["duration_s"],
        "calibration_us": result["calibration_us"],
        "loadavg_before": config["loadavg_before"],
        "summary": {f"relayscope-{config['store']}": result["figures"]},
        "goals": [
            {"goal": g["goal"], "value": g["value"], "status": g["status"]} for g in result["goals"]
        ],
    }


def write(result: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    with (results_dir / HISTORY_FILE).open("a") as out:
        out.write(json.dumps(history_line(result), separators=(",", ":")) + "\n")
    runs = history.same_commit(
        history.load(results_dir, HISTORY_FILE),
        result["commit"],
        result["config"]["load_generator"],
    )
    result["history"] = {
        "runs": len(runs),
        "verdicts": history.markdown(history.judge(runs), runs, HISTORY_FILE),
    }
    name = f"sustained-{result['config']['store']}"
    return output.write(results_dir, name, result, "\n".join(markdown(result)))


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def _rate_origin(given: float | None, found: float | None) -> str:
    if given:
        return "given with --rate"
    if found:
        return "the highest bounded ramp rate"
    return "no ramp step held: the ramp's first rate"


def markdown(result: dict[str, Any]) -> list[str]:
    c, f = result["config"], result["figures"]
    title = f"# Sustained throughput, {c['store']}"
    if result["kind"] != "full":
        title += f" — SHORT VALIDATION RUN ({c['duration_s']:g} s, not the 30-minute run)"
    lines = [
        title,
        "",
        f"{result['meta']['timestamp']}, commit {result['commit']}, "
        f"{result['meta']['machine']['cores']} cores; load average before "
        f"{' '.join(str(x) for x in c['loadavg_before'])}, after "
        f"{' '.join(str(x) for x in c['loadavg_after'])}; calibration (the upstream's "
        f"own CPU µs a request) {_num(result['calibration_us'])}.",
        "",
        f"Fixed phase: {c['rate']:g} req/s offered for {c['duration_s']:g} s "
        f"({_rate_origin(c['rate_given'], result['highest_bounded_rate'])}), "
        f"{c['stream_share']:.0%} streams, 2% upstream errors, 5,000 users, 20,000 "
        "sessions, 50 feature values, unique prompts of 100 B to 16 KB.",
        "",
        "| Goal | Value | Status |",
        "|---|---|---|",
    ]
    lines += [f"| {g['goal']} | {_num(g['value'])} | **{g['status']}** |" for g in result["goals"]]
    lines += ["", *result["history"]["verdicts"], "", "## Figures", "", "| Figure | Value |"]
    lines += ["|---|---|", *(f"| {k} | {_num(v)} |" for k, v in f.items())]
    if result["ramp"]:
        lines += [
            "",
            "## Ramp",
            "",
            f"Highest rate answered in full with the log queue bounded: "
            f"**{_num(result['highest_bounded_rate'])} req/s**. A step holds when every "
            "request was sent and at least 97% answered; it is bounded when the queue "
            "never exceeded max(1,000, one second of records) in its second half.",
            "",
            "| Offered req/s | Answered/s | Not sent | P99 ms | Queue peak (2nd half) "
            "| Held | Bounded |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_num(s['rate'])} | {_num(s['answered_per_s'])} | {_num(s['not_sent'])} "
            f"| {_num(s['p99_ms'])} | {_num(s['queue_peak_late'])} | {_num(s['held'])} "
            f"| {_num(s['bounded'])} |"
            for s in result["ramp"]
        ]
    lines += [
        "",
        "## Over time (fixed phase)",
        "",
        "| t s | Queue depth | Last stored age s | Stored/s | Writer busy % | Gateway CPU % "
        "| RSS MiB | Store MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {_num(s['t'])} | {_num(s['queue_depth'])} | {_num(s['last_stored_age_s'])} "
        f"| {_num(s.get('stored_per_s'))} | {_num(s.get('writer_busy_pct'))} "
        f"| {_num(s.get('cpu_pct'))} | {_num(s['rss_mib'])} | {_num(s.get('store_mib'))} |"
        for s in result["series"]
    ]
    return lines
