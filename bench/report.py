"""Aggregates per-repeat runs into medians, ratios and goal checks; writes JSON + Markdown."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import output
from bench.baseline import NAME as BASELINE
from bench.stats import median

PCTS = ("p50", "p95", "p99")
RELAYSCOPE = "relayscope"
NO_JOURNAL = "relayscope-no-journal"
"""The same gateway without its crash journal: what the journal costs, side by side."""
WORKERS = {"relayscope-w2": 2, "relayscope-2-replicas-nginx": 2}
CACHE_TARGETS = ("relayscope-cache-hit-memory", "relayscope-cache-hit-redis")
# feature target -> (plain baseline, overhead limit ms)
RATELIMIT_TARGETS = {
    "relayscope-ratelimit-memory": ("relayscope", 0.1),
    "relayscope-ratelimit-redis": ("relayscope", 0.5),
}
REPLICAS = "relayscope-2-replicas-nginx"

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
        for p in ("p50", "p99"):
            s[f"responses_ttfb_{p}_ms"] = med(
                lambda r, p=p: _get(r, "responses_ttfb", f"ttfb_{p}_ms")
            )
            s[f"responses_ttfb_overhead_{p}_ms"] = med(
                lambda r, p=p: _diff(
                    _get(r, "responses_ttfb", f"ttfb_{p}_ms"),
                    _get(direct.get(r["repeat"], {}), "responses_ttfb", f"ttfb_{p}_ms"),
                )
            )
        s["responses_errors"] = sum(
            int((r.get("responses_ttfb") or {}).get("errors", 0))
            + int((r.get("responses_ttfb") or {}).get("incomplete", 0))
            for r in mine
        )
        s["stream_total_p50_ms"] = med(lambda r: _get(r, "ttfb", "total_p50_ms"))
        s["rps"] = med(lambda r: _get(r, "saturated", "rps"))
        s["saturated_p50_ms"] = med(lambda r: _get(r, "saturated", "p50_ms"))
        s["saturated_p99_ms"] = med(lambda r: _get(r, "saturated", "p99_ms"))
        s["rss_mib"] = med(lambda r: _get(r, "rss_mib"))
        s["cpu_us_per_request"] = med(lambda r: _get(r, "cpu_us_per_request"))
        s["errors"] = sum(
            int(r.get(ph, {}).get("errors", 0)) for r in mine for ph in ("unloaded", "saturated")
        ) + sum(int(r.get("ttfb", {}).get("errors", 0)) for r in mine)
        recs = [r["records"] for r in mine if r.get("records")]
        if recs:
            s["records"] = sum(int(x.get("records") or 0) for x in recs)
            s["requests_sent"] = sum(int(x.get("requests") or 0) for x in recs)
            # Counted by id: each 2xx answer's Helicone-Id looked up in the store.
            by_id = [x for x in recs if "answered_2xx" in x]
            if by_id:
                s["answered_2xx"] = sum(int(x["answered_2xx"]) for x in by_id)
                s["lost"] = sum(int(x["lost"]) for x in by_id)
        summary[name] = s
    return summary


def paired_diff(runs: list[Run], name: str, base: str, key: str) -> float | None:
    """Median over repeats of name's unloaded `key` minus base's, same repeat."""
    ok = [r for r in runs if "error" not in r]
    bases = {r["repeat"]: r for r in ok if r["target"] == base}
    return median(
        [
            _diff(_get(r, "unloaded", key), _get(bases.get(r["repeat"], {}), "unloaded", key))
            for r in ok
            if r["target"] == name
        ]
    )


def features(
    runs: list[Run], summary: dict[str, dict[str, Any]], ingest: dict[str, Any] | None
) -> dict[str, Any]:
    """Feature-scenario figures: cache hits, rate-limit overhead, replicas, ingestion."""
    out: dict[str, Any] = {}
    direct = summary.get("direct", {})
    for name in CACHE_TARGETS:
        if name in summary:
            s = summary[name]
            out[name] = {
                **{f"unloaded_{p}_ms": s.get(f"unloaded_{p}_ms") for p in PCTS},
                **{f"vs_direct_{p}_ms": s.get(f"overhead_{p}_ms") for p in PCTS},
                "direct_unloaded_p50_ms": direct.get("unloaded_p50_ms"),
                "vs_relayscope_p50_ms": paired_diff(runs, name, RELAYSCOPE, "p50_ms"),
                "rps": s.get("rps"),
            }
    for name, (base, _limit) in RATELIMIT_TARGETS.items():
        if name in summary:
            out[name] = {
                "baseline": base,
                **{
                    f"overhead_vs_{base}_{p}_ms": paired_diff(runs, name, base, f"{p}_ms")
                    for p in PCTS
                },
                "rps": summary[name].get("rps"),
                "baseline_rps": summary.get(base, {}).get("rps"),
            }
    if REPLICAS in summary:
        s = summary[REPLICAS]
        out[REPLICAS] = {
            "rps": s.get("rps"),
            "relayscope_postgres_rps": summary.get("relayscope-postgres", {}).get("rps"),
            "relayscope_rps": summary.get(RELAYSCOPE, {}).get("rps"),
            "overhead_p50_ms": s.get("overhead_p50_ms"),
            "overhead_p99_ms": s.get("overhead_p99_ms"),
            "lost": s.get("lost"),
        }
    if ingest is not None:
        out["postgres-ingestion"] = ingest
    return out


def feature_goals(feat: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    name = CACHE_TARGETS[0]
    if name in feat:
        out.append(
            _goal(
                "cache hit (in-process) unloaded P50 < 1 ms",
                feat[name]["unloaded_p50_ms"],
                1.0,
                "ms",
                False,
                f"{name} not measured",
            )
        )
    name = CACHE_TARGETS[1]
    if name in feat:
        g = _goal(
            "cache hit (Redis) unloaded P50 < 1 ms (in-process target, for reference)",
            feat[name]["unloaded_p50_ms"],
            1.0,
            "ms",
            False,
            f"{name} not measured",
        )
        out.append(g)
    for name, (base, limit) in RATELIMIT_TARGETS.items():
        if name in feat:
            where = "Redis" if name.endswith("redis") else "in-process"
            out.append(
                _goal(
                    f"rate-limit overhead ({where}) P50 <= {limit} ms vs `{base}`",
                    feat[name][f"overhead_vs_{base}_p50_ms"],
                    limit,
                    "ms",
                    False,
                    f"{name} not measured",
                )
            )
    ing = feat.get("postgres-ingestion")
    if ing is not None:
        if "error" in ing:
            out.append(
                {
                    "goal": "Postgres ingestion: zero lost",
                    "value": None,
                    "status": "n/a",
                    "detail": ing["error"][:200],
                }
            )
        else:
            g = _goal(
                "Postgres ingestion: zero lost", float(ing["lost"]), 0.0, "records", False, ""
            )
            g["detail"] = (
                f"{ing['counted']} rows for {ing['records']} records "
                f"({ing['records_per_s']:,.0f} records/s), {ing['lost']} lost"
            )
            out.append(g)
    return out


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


def _baseline_goals(rs: dict[str, Any], base: dict[str, Any] | None) -> list[dict[str, Any]]:
    """No more than 10% worse than the code at ``--baseline``, measured in this run."""
    if base is None:
        return []
    missing = f"relayscope or {BASELINE} not measured"
    return [
        _goal(
            "overhead P50 <= 110% of the baseline's",
            _ratio(rs.get("overhead_p50_ms"), base.get("overhead_p50_ms")),
            1.1,
            "x",
            False,
            missing,
        ),
        _goal(
            "throughput >= 90% of the baseline's",
            _ratio(rs.get("rps"), base.get("rps")),
            0.9,
            "x",
            True,
            missing,
        ),
    ]


def goals(
    summary: dict[str, dict[str, Any]], ratio: dict[str, float | None]
) -> list[dict[str, Any]]:
    rs = summary.get(RELAYSCOPE, {})
    no_rs = "relayscope target not measured"
    no_ll = "relayscope or litellm not measured"
    out = [
        _goal("overhead P50 <= 1 ms", rs.get("overhead_p50_ms"), 1.0, "ms", False, no_rs),
        _goal("overhead P99 <= 5 ms", rs.get("overhead_p99_ms"), 5.0, "ms", False, no_rs),
        _goal(
            "Responses API stream TTFT overhead P50 <= 1 ms",
            rs.get("responses_ttfb_overhead_p50_ms"),
            1.0,
            "ms",
            False,
            no_rs,
        ),
        _goal(
            "Responses API stream TTFT overhead P99 <= 5 ms",
            rs.get("responses_ttfb_overhead_p99_ms"),
            5.0,
            "ms",
            False,
            no_rs,
        ),
    ]
    rps, unjournaled = rs.get("rps"), summary.get(NO_JOURNAL, {}).get("rps")
    out += [
        _goal(
            "crash journal: overhead P50 <= 0.5 ms",
            rs.get("overhead_p50_ms"),
            0.5,
            "ms",
            False,
            no_rs,
        ),
        _goal(
            "crash journal: throughput >= 90% of the same gateway without it",
            rps / unjournaled if rps is not None and unjournaled else None,
            0.9,
            "x",
            True,
            f"relayscope or {NO_JOURNAL} not measured",
        ),
    ]
    out += _baseline_goals(rs, summary.get(BASELINE))
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
                f"{s['lost']} of {s['answered_2xx']} answered Helicone-Ids not in the store "
                f"({s['records']} records for {s['requests_sent']} requests)"
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
        "| RSS MiB | CPU µs / request | Records / requests (lost by id) | Errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in result["summary"].items():
        records = f"{s['records']} / {s['requests_sent']} ({s['lost']})" if "lost" in s else "-"
        lines.append(
            f"| {name} | {_triple(s, 'unloaded_{p}_ms')} | {_triple(s, 'overhead_{p}_ms')} "
            f"| {_f(s.get('rps'), 0)} | {_f(s.get('saturated_p50_ms'), 2)} / "
            f"{_f(s.get('saturated_p99_ms'), 2)} | {_triple(s, 'ttfb_{p}_ms', ('p50', 'p99'))} "
            f"| {_triple(s, 'ttfb_overhead_{p}_ms', ('p50', 'p99'))} | {_f(s.get('rss_mib'), 1)} "
            f"| {_f(s.get('cpu_us_per_request'), 0)} | {records} | {s['errors']} |"
        )
    lines += [
        "",
        "## Streaming: chat completions and the Responses API",
        "",
        "Time to the first streamed byte, the same targets in the same repeats.",
        "",
        "| Target | Chat TTFB P50 / P99 ms | Chat overhead P50 / P99 ms "
        "| Responses TTFB P50 / P99 ms | Responses overhead P50 / P99 ms "
        "| Responses errors |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {_triple(s, 'ttfb_{p}_ms', ('p50', 'p99'))} "
        f"| {_triple(s, 'ttfb_overhead_{p}_ms', ('p50', 'p99'))} "
        f"| {_triple(s, 'responses_ttfb_{p}_ms', ('p50', 'p99'))} "
        f"| {_triple(s, 'responses_ttfb_overhead_{p}_ms', ('p50', 'p99'))} "
        f"| {s.get('responses_errors', 0)} |"
        for name, s in result["summary"].items()
    ]
    lines += ["", "## Ratios", "", "| Ratio | Value |", "|---|---|"]
    lines += [f"| {k} | {_f(val, 2)} |" for k, val in result["ratios"].items()]
    lines += ["", "## Issue #4 targets", "", *goal_table(result, result["goals"])]
    lines += [
        "",
        "## Per repeat",
        "",
        "Saturated phase; the upstream's CPU per request is the machine's speed at the time.",
        "",
        "| Repeat | direct req/s | direct CPU µs / request | relayscope req/s "
        "| relayscope CPU µs / request |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {row['repeat']} | {_f(row.get('direct_rps'), 0)} | {_f(row.get('direct_cpu_us'), 0)} "
        f"| {_f(row.get(f'{RELAYSCOPE}_rps'), 0)} | {_f(row.get(f'{RELAYSCOPE}_cpu_us'), 0)} |"
        for row in result.get("per_repeat", [])
    ]
    lines += feature_markdown(result)
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


def feature_markdown(result: dict[str, Any]) -> list[str]:
    feat = result.get("features") or {}
    if not feat:
        return []
    lines = ["", "## Feature scenarios", ""]
    rows = []
    for name in CACHE_TARGETS:
        if name in feat:
            f = feat[name]
            rows.append(
                f"| {name} | unloaded P50/P95/P99 {_triple(f, 'unloaded_{p}_ms')} ms; "
                f"vs direct (P50 {_f(f['direct_unloaded_p50_ms'])} ms) "
                f"+{_triple(f, 'vs_direct_{p}_ms')} ms; vs `relayscope` P50 "
                f"{_f(f['vs_relayscope_p50_ms'])} ms; {_f(f['rps'], 0)} req/s |"
            )
    for name, (base, _limit) in RATELIMIT_TARGETS.items():
        if name in feat:
            f = feat[name]
            rows.append(
                f"| {name} | overhead vs `{base}` P50/P95/P99 "
                f"{_triple(f, 'overhead_vs_' + base + '_{p}_ms')} ms; "
                f"{_f(f['rps'], 0)} req/s (vs {_f(f['baseline_rps'], 0)}) |"
            )
    if REPLICAS in feat:
        f = feat[REPLICAS]
        rows.append(
            f"| {REPLICAS} | {_f(f['rps'], 0)} req/s (1 process on Postgres: "
            f"{_f(f['relayscope_postgres_rps'], 0)}, on SQLite: {_f(f['relayscope_rps'], 0)}); "
            f"overhead P50/P99 {_f(f['overhead_p50_ms'])} / {_f(f['overhead_p99_ms'])} ms; "
            f"lost {f['lost']} |"
        )
    ing = feat.get("postgres-ingestion")
    if ing is not None:
        if "error" in ing:
            rows.append(f"| postgres-ingestion | failed: {ing['error'][:200]} |")
        else:
            rows.append(
                f"| postgres-ingestion | `SqlStore.insert_requests`, {ing['records']} records in "
                f"batches of {ing['batch_size']}: {ing['records_per_s']:,.0f} records/s, batch "
                f"P50/P99 {ing['batch_p50_ms']} / {ing['batch_p99_ms']} ms, "
                f"{ing['counted']} rows counted, {ing['lost']} lost |"
            )
    lines += ["| Scenario | Figures |", "|---|---|", *rows]
    fg = result.get("feature_goals") or []
    if fg:
        lines += ["", "## Feature targets", "", *goal_table(result, fg)]
    return lines


def goal_table(result: dict[str, Any], goals: list[dict[str, Any]]) -> list[str]:
    """This run's figure for each goal and, once the run is in the history, the verdict
    over every run of the same commit: a goal another run missed never reads "met"."""
    verdicts = {v["goal"]: v for v in (result.get("history") or {}).get("verdicts", [])}
    if not verdicts:
        lines = ["| Goal | Status | Detail |", "|---|---|---|"]
        return lines + [f"| {g['goal']} | **{g['status']}** | {g['detail']} |" for g in goals]
    lines = [
        "| Goal | This run | Runs of this commit: median (spread) | Verdict |",
        "|---|---|---|---|",
    ]
    for g in goals:
        v = verdicts.get(g["goal"])
        over = (
            f"{_f(v['median'])} ({_f(v['low'])} to {_f(v['high'])})"
            if v and v["median"] is not None
            else "-"
        )
        verdict = v["verdict"] if v else "not in the history"
        lines.append(f"| {g['goal']} | {g['detail'] or g['status']} | {over} | **{verdict}** |")
    return lines


def per_repeat(runs: list[Run]) -> list[dict[str, Any]]:
    """Saturated figures of the floor and of RelayScope in each repeat, side by side.

    The upstream's own CPU per request shows how fast the machine was in that repeat
    (a shared host's speed moves); every target's figures move with it."""
    ok = [r for r in runs if "error" not in r]
    rows = []
    for repeat in sorted({r["repeat"] for r in ok}):
        row: dict[str, Any] = {"repeat": repeat}
        for r in ok:
            if r["repeat"] == repeat and r["target"] in ("direct", RELAYSCOPE):
                row[f"{r['target']}_rps"] = _get(r, "saturated", "rps")
                row[f"{r['target']}_cpu_us"] = _get(r, "cpu_us_per_request")
        rows.append(row)
    return rows


def warnings(
    summary: dict[str, dict[str, Any]], config: dict[str, Any], runs: list[Run]
) -> list[str]:
    out: list[str] = []
    floor_cpu = [c for row in per_repeat(runs) if (c := row.get("direct_cpu_us"))]
    if len(floor_cpu) > 1 and max(floor_cpu) > 1.3 * min(floor_cpu):
        out.append(
            f"the machine's speed changed between repeats: the upstream alone used "
            f"{min(floor_cpu):.0f}-{max(floor_cpu):.0f} µs of CPU a request "
            f"({max(floor_cpu) / min(floor_cpu):.1f}x); see 'Per repeat'"
        )
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
    ingest: dict[str, Any] | None = None,
) -> dict[str, Any]:
    summary = summarize(runs)
    ratio = ratios(summary)
    feat = features(runs, summary, ingest)
    return {
        "meta": meta,
        "config": config,
        "targets": {k: descriptions[k] for k in summary} | {k: descriptions[k] for k in skipped},
        "summary": summary,
        "ratios": ratio,
        "goals": goals(summary, ratio),
        "features": feat,
        "feature_goals": feature_goals(feat),
        "warnings": warnings(summary, config, runs),
        "per_repeat": per_repeat(runs),
        "skipped": skipped,
        "runs": runs,
    }


def write(result: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    return output.write(results_dir, "latest", result, markdown(result))
