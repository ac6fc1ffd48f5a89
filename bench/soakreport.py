"""The soak's figures: outcomes, per-phase latency, records, memory, spool; JSON + Markdown."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import output
from bench.soakplan import FAULT_HELP, FAULTS, STEADY, Plan
from bench.soakstore import StoredRow
from bench.stats import percentile

MAX_LIVE_GROWTH_MIB = 1.0
"""Memory check: native memory in use may grow less than this from one fault cycle
to the next (medians of the two cycles). A cycle (every fault once) at 100 req/s is
21,000 requests: a leak of ~50 bytes per request would fail it."""
MAX_PY_BLOCKS_GROWTH = 0.02
"""Memory check: pymalloc's allocated blocks may grow less than 2% cycle to cycle;
one leaked small object per request is about +4% per cycle at 100 req/s."""
SERIES = {
    "rss_mib": ("RSS", "MiB"),
    "malloc_in_use_mib": ("malloc in use", "MiB"),
    "malloc_free_mib": ("malloc freed, kept", "MiB"),
    "sqlite_mib": ("SQLite's own", "MiB"),
    "py_kblocks": ("Python heap, pymalloc blocks", "k"),
}


def slope_per_min(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MiB) points, in MiB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mx) * (v - my) for t, v in points)
    return cov / var * 60


def _ms(values: Iterable[float]) -> dict[str, float | None]:
    s = sorted(values)
    return {
        "p50_ms": round(percentile(s, 50), 2) if s else None,
        "p99_ms": round(percentile(s, 99), 2) if s else None,
        "max_ms": round(s[-1], 2) if s else None,
    }


def _status_class(status: int | None) -> str:
    return f"{status // 100}xx" if status is not None else "no response"


def phases(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in (STEADY, *FAULTS):
        mine = [r for r in rows if r["phase"] == name]
        if not mine:
            continue
        clean = [r for r in mine if r["fault"] is None and r["outcome"] == "ok"]
        faulted = [r for r in mine if r["fault"] is not None]
        out[name] = {
            "requests": len(mine),
            "faulted": len(faulted),
            "clean_ok": len(clean),
            "json": _ms(r["ms"] for r in clean if not r["stream"]),
            "stream_ttfb": _ms(r["ttfb_ms"] for r in clean if r["stream"] and "ttfb_ms" in r),
            "stream_total": _ms(r["ms"] for r in clean if r["stream"]),
            "faulted_latency": _ms(r["ms"] for r in faulted if r["ms"] is not None),
            "unexpected": sum(1 for r in mine if not r["expected"]),
            "outcomes": dict(Counter(r["outcome"] for r in mine).most_common()),
        }
    return out


def outcomes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = table.setdefault(
            r["outcome"], {"outcome": r["outcome"], "count": 0, "expected": 0, "unexpected": 0}
        )
        entry["count"] += 1
        entry["expected" if r["expected"] else "unexpected"] += 1
    return sorted(table.values(), key=lambda e: (-e["unexpected"], -e["count"]))


def records(
    rows: list[dict[str, Any]],
    seen: set[str],
    all_ids: set[str],
    live: list[StoredRow],
    final: list[StoredRow],
    api: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Stored records against what the clients saw. Rows are keyed by id, so stored ids
    cannot repeat; a record applied twice shows in what inserts compute instead: the
    whole-hour summary (rollups) and the explorer's pages, read through the API after
    the drain (``api``: ``summary_requests`` and ``listed`` ids)."""
    live_ids = {r.id for r in live}
    final_ids = [r.id for r in final]
    final_set = set(final_ids)
    listed: list[str] = list(api["listed"]) if api else []
    aborted = {r["rid"] for r in rows if r["outcome"] == "client_abort"}
    slow = {r["rid"] for r in rows if r["fault"] == "slow_client"}
    unanswered = {r["rid"] for r in rows if r["hid"] is None and r["outcome"] != "not_sent"}
    return {
        "helicone_ids_seen": len(seen),
        "stored_after_drain": len(live_ids),
        "stored_after_shutdown": len(final_set),
        "lost": len(seen - live_ids),
        "lost_after_shutdown": len(seen - final_set),
        "lost_ids": sorted(seen - live_ids)[:20],
        "duplicated": len(final_ids) - len(final_set),
        "api_read": api is not None,
        "summary_requests": api["summary_requests"] if api else None,
        "summary_minus_stored": (api["summary_requests"] - len(live_ids)) if api else None,
        "listed": len(listed),
        "listed_twice": len(listed) - len(set(listed)),
        "listed_not_stored": len(set(listed) ^ live_ids),
        "unknown": len(final_set - all_ids),
        "unanswered_requests": len(unanswered),
        "unanswered_with_record": len(unanswered & final_set),
        "client_aborts": len(aborted),
        "client_aborts_with_record": len(aborted & final_set),
        "slow_clients_with_record": len(slow & final_set),
        "stored_status": {str(k): v for k, v in sorted(Counter(r.status for r in final).items())},
        "stored_cancelled": sum(r.cancelled for r in final),
        "stored_with_error": sum(r.error for r in final),
    }


def counted_once(rec: dict[str, Any]) -> bool:
    """Every stored request counted once by the summary's rollups and listed once by
    the explorer, and no stored id the load never sent (fails if the API was not read)."""
    return (
        rec["api_read"]
        and rec["summary_minus_stored"] == 0
        and rec["listed_twice"] == 0
        and rec["listed_not_stored"] == 0
        and rec["unknown"] == 0
    )


def _series(points: list[tuple[float, float]], plan: Plan) -> dict[str, Any]:
    """Start, end, max, slopes and per-fault-cycle medians of one (seconds, value) series."""
    values = [v for _, v in points]
    cycle = len(FAULTS) * plan.period
    end = plan.duration
    last = [(t, v) for t, v in points if t >= end - cycle]
    previous = [v for t, v in points if end - 2 * cycle <= t < end - cycle]
    # Only meaningful when both windows lie after the steady first slot.
    growth = None
    if end - 2 * cycle >= plan.period and last and previous:
        growth = statistics.median(v for _, v in last) - statistics.median(previous)
    cycles = []
    start = plan.period
    while start < end:
        mine = [v for t, v in points if start <= t < start + cycle]
        if mine:
            cycles.append(
                {
                    "start_s": start,
                    "end_s": min(end, start + cycle),
                    "median": round(statistics.median(mine), 2),
                    "max": max(mine),
                    "full": start + cycle <= end,
                }
            )
        start += cycle
    return {
        "start": values[0] if values else None,
        "end": values[-1] if values else None,
        "max": max(values) if values else None,
        "slope_per_min": _round(slope_per_min(points), 3),
        "slope_last_cycle_per_min": _round(slope_per_min(last), 3),
        "growth_last_cycle": _round(growth, 2),
        "previous_cycle_median": _round(statistics.median(previous), 2) if previous else None,
        "per_cycle": cycles,
    }


def memory(samples: list[dict[str, Any]], plan: Plan, idle: float) -> dict[str, Any]:
    during = [s for s in samples if s["phase"] != "after"]
    for s in samples:
        if s.get("py_blocks") is not None:
            s["py_kblocks"] = round(s["py_blocks"] / 1000, 1)
    out: dict[str, Any] = {
        "idle_mib": round(idle, 2),
        "after_drain_mib": samples[-1]["rss_mib"] if samples else None,
        "samples": len(during),
        "cycle_s": len(FAULTS) * plan.period,
        "threads_start": during[0]["threads"] if during else None,
        "threads_end": during[-1]["threads"] if during else None,
    }
    for key in SERIES:
        # Only series present in every sample: a gap would read as a jump.
        if during and all(s.get(key) is not None for s in during):
            out[key] = _series([(s["t"], s[key]) for s in during], plan)
    return out


def memory_checks(mem: dict[str, Any]) -> dict[str, bool | None]:
    if "malloc_in_use_mib" not in mem or "py_kblocks" not in mem:
        rss = mem["rss_mib"]["growth_last_cycle"] if "rss_mib" in mem else None
        label = f"RSS grew < {MAX_LIVE_GROWTH_MIB:g} MiB over the last fault cycle"
        return {label: None if rss is None else rss < MAX_LIVE_GROWTH_MIB}
    live = mem["malloc_in_use_mib"]["growth_last_cycle"]
    blocks = mem["py_kblocks"]
    base = blocks["previous_cycle_median"]
    ratio = (
        None
        if blocks["growth_last_cycle"] is None or not base
        else blocks["growth_last_cycle"] / base
    )
    return {
        f"malloc in use grew < {MAX_LIVE_GROWTH_MIB:g} MiB over the last fault cycle": None
        if live is None
        else live < MAX_LIVE_GROWTH_MIB,
        f"Python heap blocks grew < {MAX_PY_BLOCKS_GROWTH:.0%} over the last fault cycle": None
        if ratio is None
        else ratio < MAX_PY_BLOCKS_GROWTH,
    }


def spool(samples: list[dict[str, Any]], outages: list[dict[str, Any]]) -> dict[str, Any]:
    per_outage = []
    for n, o in enumerate(outages):
        until = outages[n + 1]["start"] if n + 1 < len(outages) else math.inf
        after = [s for s in samples if o["start"] <= s["t"] < until]
        peak = max((s["spool_bytes"] for s in after), default=0)
        empty = next(
            (s["t"] for s in after if s["t"] >= o.get("end", o["start"]) and not s["spool_files"]),
            None,
        )
        per_outage.append(
            {
                **o,
                "peak_spool_bytes": peak,
                "spool_empty_at": empty,
                "emptied_s_after_outage": _round(empty - o["end"], 1)
                if empty is not None and "end" in o
                else None,
            }
        )
    return {
        "max_bytes": max((s["spool_bytes"] for s in samples), default=0),
        "max_files": max((s["spool_files"] for s in samples), default=0),
        "outages": per_outage,
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def build(
    *,
    options: Any,
    plan: Plan,
    facts: dict[str, Any],
    rows: list[dict[str, Any]],
    load_summary: dict[str, Any],
    seen: set[str],
    all_ids: set[str],
    probe_ids: list[str],
    live_rows: list[StoredRow],
    final_rows: list[StoredRow],
    drained: dict[str, Any],
    samples: list[dict[str, Any]],
    idle_rss: float,
    outages: list[dict[str, Any]],
    crash: str | None,
    exit_code: int | None,
    gateway_log: dict[str, Any],
    store_kind: str,
    loadavg: tuple[Sequence[float], Sequence[float]],
    api: dict[str, Any] | None = None,
) -> dict[str, Any]:
    sent = [r for r in rows if r["outcome"] != "not_sent"]
    status_classes = Counter(_status_class(r["status"]) for r in sent)
    unexpected = sum(1 for r in rows if not r["expected"])
    gateway_500 = sum(1 for r in rows if r["outcome"] == "gateway_500")
    rec = records(rows, seen, all_ids, live_rows, final_rows, api)
    mem = memory(samples, plan, idle_rss)
    checks = {
        "no record lost": rec["lost"] == 0 and rec["lost_after_shutdown"] == 0,
        "no record counted twice": counted_once(rec),
        "no unexpected outcome": unexpected == 0,
        "no gateway 500": gateway_500 == 0,
        "gateway never crashed": crash is None,
        "spool replayed": bool(drained) and drained.get("spool_files") == 0,
        **memory_checks(mem),
    }
    options_dict = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    return {
        "meta": facts,
        "config": {
            **options_dict,
            "store": store_kind,
            "plan": {
                "period_s": plan.period,
                "fault_s": plan.fault_s,
                "store_down_s": plan.store_down_s,
                "windows": [asdict(w) for w in plan.windows],
            },
            "faults": {f: FAULT_HELP[f] for f in FAULTS},
            "loadavg_before": [round(x, 2) for x in loadavg[0]],
            "loadavg_after": [round(x, 2) for x in loadavg[1]],
        },
        "requests": {
            "scheduled": len(rows),
            "sent": len(sent),
            "not_sent": len(rows) - len(sent),
            "probes": len(probe_ids),
            "faulted": sum(1 for r in rows if r["fault"] is not None),
            "status_classes": dict(sorted(status_classes.items())),
            "unexpected": unexpected,
            "gateway_500": gateway_500,
            "achieved_rate": round(len(sent) / plan.duration, 2),
            "max_dispatch_late_ms": load_summary.get("max_dispatch_late_ms"),
            "max_in_flight": load_summary.get("max_in_flight"),
            "unfinished": load_summary.get("unfinished"),
        },
        "outcomes": outcomes(rows),
        "unexpected_examples": [r for r in rows if not r["expected"]][:20],
        "phases": phases(rows),
        "records": rec,
        "drain": drained,
        "memory": mem,
        "spool": spool(samples, outages),
        "gateway": {"crash": crash, "exit_code": exit_code, "log": gateway_log},
        "samples": samples,
        "verdict": {"checks": checks, "pass": all(v is not False for v in checks.values())},
    }


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(r: dict[str, Any]) -> str:
    c, q, rec, mem, sp = r["config"], r["requests"], r["records"], r["memory"], r["spool"]
    rs = r["meta"]["versions"]["relayscope"]
    out = [
        "# RelayScope soak",
        "",
        f"{_f(c['duration'], 0)} s at {_f(c['rate'], 0)} req/s (open loop), store "
        f"**{c['store']}**, {c['plan']['period_s']:g} s fault slots "
        f"({c['plan']['fault_s']:g} s faults, {c['plan']['store_down_s']:g} s store outage), "
        f"{c['fault_share']:.0%} of requests hit during a fault window; "
        f"{c['stream_share']:.0%} streaming, {c['anthropic_share']:.0%} Anthropic route. "
        f"relayscope {rs.get('version')} ({rs.get('commit')}), {r['meta']['timestamp']}, "
        f"{r['meta']['machine']['cores']} cores, load average before/after "
        f"{c['loadavg_before'][0]}/{c['loadavg_after'][0]}.",
        "",
        "## Verdict",
        "",
        "| Check | Result |",
        "|---|---|",
    ]
    verdicts = {True: "pass", False: "**FAIL**", None: "n/a (run shorter than 2 fault cycles)"}
    out += [f"| {k} | {verdicts[v]} |" for k, v in r["verdict"]["checks"].items()]
    classes = ", ".join(f"{k} {v:,}" for k, v in q["status_classes"].items())
    out += [
        "",
        "## Requests",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| Scheduled / sent | {q['scheduled']:,} / {q['sent']:,} ({q['achieved_rate']} req/s) |",
        f"| Answered by status class | {classes} |",
        f"| Hit by a deliberate fault | {q['faulted']:,} |",
        f"| Unexpected outcomes | {q['unexpected']:,} |",
        f"| Gateway's own 500s | {q['gateway_500']:,} |",
        f"| Not sent (client in-flight bound) | {q['not_sent']:,} |",
        f"| Max requests in flight | {_f(q['max_in_flight'])} |",
        "",
        "## Outcomes by kind",
        "",
        "| Outcome | Count | Expected | Unexpected |",
        "|---|---:|---:|---:|",
    ]
    out += [
        f"| {e['outcome']} | {e['count']:,} | {e['expected']:,} | {e['unexpected']:,} |"
        for e in r["outcomes"]
    ]
    out += [
        "",
        "## Client latency per phase",
        "",
        "Clean = requests without a deliberate fault that got a complete 2xx answer. "
        "Times run from the request's due time (open loop): JSON = whole response; "
        "stream TTFB = first body chunk; stream total = last byte (the fake provider "
        f"paces SSE chunks {_f(c['chunk_delay_ms'], 0)} ms apart, so a stream lasts "
        "~100 ms). Faulted P50 = requests that carried the phase's fault.",
        "",
        "| Phase | Requests | Faulted | JSON P50 ms | JSON P99 ms | Stream TTFB P50 ms "
        "| Stream TTFB P99 ms | Stream total P50 ms | Faulted P50 ms | Unexpected |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p in r["phases"].items():
        out.append(
            f"| {name} | {p['requests']:,} | {p['faulted']:,} | {_f(p['json']['p50_ms'], 2)} "
            f"| {_f(p['json']['p99_ms'], 2)} | {_f(p['stream_ttfb']['p50_ms'], 2)} "
            f"| {_f(p['stream_ttfb']['p99_ms'], 2)} | {_f(p['stream_total']['p50_ms'], 1)} "
            f"| {_f(p['faulted_latency']['p50_ms'], 1)} | {p['unexpected']:,} |"
        )
    stored = ", ".join(f"{k}: {v:,}" for k, v in rec["stored_status"].items())
    out += [
        "",
        "## Log records",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| Helicone-Ids seen by clients | {rec['helicone_ids_seen']:,} |",
        f"| Records stored after the queue drained | {rec['stored_after_drain']:,} |",
        f"| **Lost** (seen by a client, not stored) | **{rec['lost']:,}** |",
        f"| Lost after gateway shutdown | {rec['lost_after_shutdown']:,} |",
        f"| **Counted twice**: summary (rollups) minus stored / listed twice / unknown ids "
        f"| **{_f(rec.get('summary_minus_stored'))}** / {rec.get('listed_twice', '-')} "
        f"/ {rec['unknown']:,} |",
        f"| Requests without an answer header, stored anyway | "
        f"{rec['unanswered_with_record']:,} of {rec['unanswered_requests']:,} |",
        f"| Client aborts stored (cancelled, 499) | "
        f"{rec['client_aborts_with_record']:,} of {rec['client_aborts']:,} |",
        f"| Drain after load (queue + spool replay) | {_f(r['drain'].get('wait_s'))} s |",
        f"| Stored statuses | {stored} |",
        "",
        f"## Memory (gateway, sampled every {_f(c['sample_interval'], 0)} s)",
        "",
        f"Idle before the load: {_f(mem['idle_mib'])} MiB RSS; after the drain: "
        f"{_f(mem['after_drain_mib'])} MiB. Live memory is what the checks use: *malloc in "
        "use* (glibc `mallinfo2`, all arenas: native allocations and Python objects over "
        "512 bytes) and the *Python heap* (pymalloc's allocated blocks, objects up to 512 "
        "bytes). RSS also holds memory freed but kept by the allocator (*malloc freed, "
        "kept*), so it follows high-water marks, not live data. A fault cycle is "
        f"{_f(mem['cycle_s'], 0)} s (every fault once); growth over the last cycle = its "
        "median minus the median of the cycle before. Gateway threads: "
        f"{mem['threads_start']} at the start, {mem['threads_end']} at the end.",
        "",
        "| Series | Start | End | Max | Slope (whole run) | Slope (last cycle) "
        "| Growth over the last cycle |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    keys = [k for k in SERIES if k in mem]
    for key in keys:
        title, unit = SERIES[key]
        m = mem[key]
        growth = "n/a" if m["growth_last_cycle"] is None else f"{m['growth_last_cycle']:+.2f}"
        out.append(
            f"| {title} ({unit}) | {_f(m['start'])} | {_f(m['end'])} | {_f(m['max'])} "
            f"| {_f(m['slope_per_min'], 3)}/min | {_f(m['slope_last_cycle_per_min'], 3)}/min "
            f"| {growth} |"
        )
    out += [
        "",
        "Median per fault cycle:",
        "",
        "| Fault cycle (s) | " + " | ".join(SERIES[k][0] for k in keys) + " |",
        "|---|" + "---:|" * len(keys),
    ]
    for i, cyc in enumerate(mem["rss_mib"]["per_cycle"] if "rss_mib" in mem else []):
        partial = "" if cyc["full"] else " (partial)"
        cells = [_f(mem[k]["per_cycle"][i]["median"]) for k in keys]
        span = f"{cyc['start_s']:.0f}-{cyc['end_s']:.0f}{partial}"
        out.append(f"| {span} | " + " | ".join(cells) + " |")
    out += [
        "",
        "| t (s) | Phase | "
        + " | ".join(SERIES[k][0] for k in keys)
        + " | Threads | Spool files |",
        "|---:|---|" + "---:|" * (len(keys) + 2),
    ]
    every = max(1, len(r["samples"]) // 20)
    for smp in r["samples"][::every]:
        cells = [_f(smp.get(k)) for k in keys]
        out.append(
            f"| {smp['t']:.0f} | {smp['phase']} | "
            + " | ".join(cells)
            + f" | {smp['threads']} | {smp['spool_files']} |"
        )
    out += [
        "",
        "## Store outages and spool",
        "",
        f"Spool peak: {sp['max_bytes']:,} bytes in {sp['max_files']:,} files.",
        "",
        "| Down at s | Back at s | Peak spool bytes | Spool empty at s (next sample) "
        "| Emptied after |",
        "|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {_f(o['start'])} | {_f(o.get('end'))} | {o['peak_spool_bytes']:,} "
        f"| {_f(o['spool_empty_at'])} | {_f(o['emptied_s_after_outage'])} s |"
        for o in sp["outages"]
    ]
    g = r["gateway"]
    out += [
        "",
        "## Gateway process",
        "",
        f"Crash: {g['crash'] or 'none'}; exit code after SIGTERM: {g['exit_code']}; "
        f"tracebacks in its log: {g['log']['tracebacks']}, ERROR lines: "
        f"{g['log']['error_lines']}, WARNING lines: {g['log']['warning_lines']}.",
    ]
    kinds = {**g["log"]["traceback_kinds"], **g["log"]["error_kinds"]}
    if kinds:
        out += ["", "| Log line | Count |", "|---|---:|"]
        out += [f"| `{k.replace('|', '/')}` | {v:,} |" for k, v in kinds.items()]
    out += ["", "## Faults", ""]
    out += [f"- `{k}`: {v}" for k, v in c["faults"].items()]
    return "\n".join(out) + "\n"


def write(result: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    return output.write(results_dir, "soak", result, markdown(result))
