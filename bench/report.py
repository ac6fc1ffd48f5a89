"""Aggregates per-repeat runs into medians, ratios and goal checks; writes JSON + Markdown."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stats import median

PCTS = ("p50", "p95", "p99")
RELAYSCOPE = "relayscope"
WORKERS = {"relayscope-w2": 2}

Run = dict[str, Any]


def _get(run: Run, *keys: str) -> float | None:
    value: Any = run
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return float(value)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def summarize(runs: list[Run]) -> dict[str, dict[str, Any]]:
    ok = [r for r in runs if "error" not in r]
    direct = {r["repeat"]: r for r in ok if r["target"] == "direct"}
    names = list(dict.fromkeys(r["target"] for r in ok))
    summary: dict[str, dict[str, Any]] = {}
    for name in names:
        mine = [r for r in ok if r["target"] == name]

        def med(fn: Callable[[Run], float | None], mine: list[Run] = mine) -> float | None:
            return median([fn(r) for r in mine])

        s: dict[str, Any] = {"repeats": len(mine)}
        for p in PCTS:
            s[f"unloaded_{p}_ms"] = med(lambda r, p=p: _get(r, "unloaded", f"{p}_ms"))
            s[f"overhead_{p}_ms"] = med(
                lambda r, p=p: _diff(
                    _get(r, "unloaded", f"{p}_ms"),
                    _get(direct.get(r["repeat"], {}), "unloaded", f"{p}_ms"),
                )
            )
            s[f"ttfb_{p}_ms"] = med(lambda r, p=p: _get(r, "ttfb", f"ttfb_{p}_ms"))
            s[f"ttfb_overhead_{p}_ms"] = med(
                lambda r, p=p: _diff(
                    _get(r, "ttfb", f"ttfb_{p}_ms"),
                    _get(direct.get(r["repeat"], {}), "ttfb", f"ttfb_{p}_ms"),
                )
            )
        s["stream_total_p50_ms"] = med(lambda r: _get(r, "ttfb", "total_p50_ms"))
        s["rps"] = med(lambda r: _get(r, "saturated", "rps"))
        s["saturated_p50_ms"] = med(lambda r: _get(r, "saturated", "p50_ms"))
        s["saturated_p99_ms"] = med(lambda r: _get(r, "saturated", "p99_ms"))
        s["rss_mib"] = med(lambda r: _get(r, "rss_mib"))
        s["errors"] = sum(
            int(r.get(ph, {}).get("errors", 0)) for r in mine for ph in ("unloaded", "saturated")
        ) + sum(int(r.get("ttfb", {}).get("errors", 0)) for r in mine)
        recs = [r["records"] for r in mine if r.get("records")]
        if recs:
            s["records"] = sum(int(x["records"] or 0) for x in recs)
            s["requests_sent"] = sum(int(x["requests"]) for x in recs)
            s["lost"] = sum(int(x["lost"]) for x in recs)
        summary[name] = s
    return summary


def ratios(summary: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    rs = summary.get(RELAYSCOPE, {})
    out: dict[str, float | None] = {}
    for peer in ("nginx", "litellm"):
        other = summary.get(peer, {})
        for p in ("p50", "p99"):
            out[f"relayscope/{peer} overhead {p}"] = _ratio(
                rs.get(f"overhead_{p}_ms"), other.get(f"overhead_{p}_ms")
            )
        out[f"relayscope/{peer} throughput"] = _ratio(rs.get("rps"), other.get("rps"))
    return out


def _goal(
    name: str, value: float | None, limit: float, unit: str, higher_is_better: bool, missing: str
) -> dict[str, Any]:
    if value is None or math.isnan(value):
        return {"goal": name, "value": None, "status": "n/a", "detail": missing}
    met = value >= limit if higher_is_better else value <= limit
    gap = abs(value - limit)
    word = (
        ("above" if value >= limit else "below")
        if higher_is_better
        else ("under" if value <= limit else "over")
    )
    fmt = "{:,.0f}" if unit == "req/s" else "{:.2f}" if unit in ("x", "") else "{:.3f}"
    detail = f"{fmt.format(value)} {unit}: {fmt.format(gap)} {unit} {word} the limit".replace(
        "  ", " "
    )
    return {"goal": name, "value": value, "status": "met" if met else "missed", "detail": detail}


def goals(
    summary: dict[str, dict[str, Any]], ratio: dict[str, float | None]
) -> list[dict[str, Any]]:
    rs = summary.get(RELAYSCOPE, {})
    no_rs = "relayscope target not measured"
    no_ll = "relayscope or litellm not measured"
    out = [
        _goal("overhead P50 <= 1 ms", rs.get("overhead_p50_ms"), 1.0, "ms", False, no_rs),
        _goal("overhead P99 <= 5 ms", rs.get("overhead_p99_ms"), 5.0, "ms", False, no_rs),
    ]
    for name in (RELAYSCOPE, *WORKERS):
        if name in summary or name == RELAYSCOPE:
            rps = summary.get(name, {}).get("rps")
            workers = WORKERS.get(name, 1)
            out.append(
                _goal(
                    f"{name}: >= 2,000 req/s per worker ({workers} worker(s))",
                    rps / workers if rps is not None else None,
                    2000.0,
                    "req/s",
                    True,
                    f"{name} not measured",
                )
            )
    out.append(
        _goal(
            ">= 3x LiteLLM throughput",
            ratio.get("relayscope/litellm throughput"),
            3.0,
            "x",
            True,
            no_ll,
        )
    )
    for p in ("p50", "p99"):
        out.append(
            _goal(
                f"overhead {p.upper()} <= 1/3 of LiteLLM's",
                ratio.get(f"relayscope/litellm overhead {p}"),
                1 / 3,
                "x",
                False,
                no_ll,
            )
        )
    for name, s in summary.items():
        if name.startswith(RELAYSCOPE) and "lost" in s:
            g = _goal(f"{name}: zero lost records", float(s["lost"]), 0.0, "records", False, "")
            g["detail"] = (
                f"{s['records']} records for {s['requests_sent']} requests, {s['lost']} lost"
            )
            out.append(g)
    if not any(g["goal"].endswith("zero lost records") for g in out):
        out.append(_goal("zero lost records", None, 0, "", False, no_rs))
    return out


def _f(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _triple(s: dict[str, Any], fmt: str, keys: tuple[str, ...] = PCTS) -> str:
    return " / ".join(_f(s.get(fmt.format(p=p))) for p in keys)


def markdown(result: dict[str, Any]) -> str:
    meta, cfg = result["meta"], result["config"]
    v = meta["versions"]
    rs = v.get("relayscope") or {}
    lines = [
        f"# RelayScope benchmark — {meta['timestamp']}",
        "",
        f"- Machine: {meta['machine']['cores']} cores ({meta['machine']['cpu']}), "
        f"{meta['machine']['memory_gib']} GiB, {meta['machine']['platform']}",
        f"- Python {meta['python']}; relayscope {rs.get('version') or '-'}"
        f" ({rs.get('commit') or 'no commit'}); litellm {v.get('litellm') or '-'}; "
        f"nginx {v.get('nginx') or '-'}; {v.get('wrk') or 'wrk -'}",
        f"- Load generator: {cfg['load_generator']}; {cfg['repeats']} interleaved repeat(s) x "
        f"{cfg['duration_s']} s per phase; saturated: {cfg['threads']} threads x "
        f"{cfg['connections']} connections; {cfg['ttfb_requests']} streaming requests for TTFB. "
        "Figures are medians over repeats; overheads are target - direct in the same repeat.",
        f"- Load average (1/5/15 min) before: {cfg.get('loadavg_before')}, after: "
        f"{cfg.get('loadavg_after')} (anything else running on the machine skews the figures)",
        "",
        "## Latency, throughput, memory",
        "",
        "| Target | Unloaded P50 / P95 / P99 ms | Overhead P50 / P95 / P99 ms | Saturated req/s "
        "| Saturated P50 / P99 ms | Stream TTFB P50 / P99 ms | TTFB overhead P50 / P99 ms "
        "| RSS MiB | Records / requests (lost) | Errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in result["summary"].items():
        records = f"{s['records']} / {s['requests_sent']} ({s['lost']})" if "lost" in s else "-"
        lines.append(
            f"| {name} | {_triple(s, 'unloaded_{p}_ms')} | {_triple(s, 'overhead_{p}_ms')} "
            f"| {_f(s.get('rps'), 0)} | {_f(s.get('saturated_p50_ms'), 2)} / "
            f"{_f(s.get('saturated_p99_ms'), 2)} | {_triple(s, 'ttfb_{p}_ms', ('p50', 'p99'))} "
            f"| {_triple(s, 'ttfb_overhead_{p}_ms', ('p50', 'p99'))} | {_f(s.get('rss_mib'), 1)} "
            f"| {records} | {s['errors']} |"
        )
    lines += ["", "## Ratios", "", "| Ratio | Value |", "|---|---|"]
    lines += [f"| {k} | {_f(val, 2)} |" for k, val in result["ratios"].items()]
    lines += ["", "## Issue #4 targets", "", "| Goal | Status | Detail |", "|---|---|---|"]
    lines += [f"| {g['goal']} | **{g['status']}** | {g['detail']} |" for g in result["goals"]]
    for warning in result.get("warnings", []):
        lines += ["", f"**Warning:** {warning}."]
    after = meta.get("relayscope_after") or {}
    if rs.get("commit") != after.get("commit"):
        lines += [
            "",
            f"**Warning:** the RelayScope source changed during the run "
            f"({rs.get('commit')} -> {after.get('commit')}); these figures mix versions.",
        ]
    if result["skipped"]:
        lines += ["", "## Skipped", ""]
        lines += [f"- **{k}**: {reason}" for k, reason in result["skipped"].items()]
    failures = [r for r in result["runs"] if "error" in r]
    if failures:
        lines += ["", "## Failed runs", ""]
        lines += [
            f"- {r['target']} (repeat {r['repeat'] + 1}): {r['error'].splitlines()[0][:300]}"
            for r in failures
        ]
    lines += ["", "Targets:", ""]
    lines += [f"- `{k}`: {d}" for k, d in result["targets"].items()]
    return "\n".join(lines) + "\n"


def warnings(summary: dict[str, dict[str, Any]], config: dict[str, Any]) -> list[str]:
    out: list[str] = []
    floor_p99 = summary.get("direct", {}).get("unloaded_p99_ms")
    if floor_p99 is not None and floor_p99 > 1.0:
        out.append(
            f"direct's unloaded P99 is {floor_p99:.2f} ms (expected well under 1 ms): the machine "
            "was busy, so P95/P99 overheads (differences of noisy tails) are unreliable"
        )
    before = config.get("loadavg_before") or [0.0]
    cores = config.get("cores") or 1
    if before[0] > 0.5 * cores:
        out.append(
            f"1-minute load average was {before[0]} on {cores} cores before the run started: "
            "other work was competing for the CPU"
        )
    return out


def build(
    meta: dict[str, Any],
    config: dict[str, Any],
    runs: list[Run],
    skipped: dict[str, str],
    descriptions: dict[str, str],
) -> dict[str, Any]:
    summary = summarize(runs)
    ratio = ratios(summary)
    return {
        "meta": meta,
        "config": config,
        "targets": {k: descriptions[k] for k in summary} | {k: descriptions[k] for k in skipped},
        "summary": summary,
        "ratios": ratio,
        "goals": goals(summary, ratio),
        "warnings": warnings(summary, config),
        "skipped": skipped,
        "runs": runs,
    }


def write(result: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / "latest.json"
    md_path = results_dir / "latest.md"
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    md_path.write_text(markdown(result))
    return json_path, md_path
