"""The streaming scenario's figures against issue 22's targets, and its Markdown summary."""

from __future__ import annotations

from typing import Any

GOALS = (
    "2,000 streams, 1 worker: TTFT overhead P99 <= 100 ms",
    "2,000 streams, 1 worker: duration stretch <= 5%",
    "5,000 streams, 1 worker: none refused at the defaults",
    "1 worker: RSS <= 32 KiB per open stream",
    "1 worker: >= 2x the Portkey gateway's chunks per core",
    "zero lost records",
)


def _row(rows: list[dict[str, Any]], target: str, streams: int) -> dict[str, Any] | None:
    for row in rows:
        if row.get("target") == target and row.get("streams") == streams and "failed" not in row:
            return row
    return None


def with_overheads(rows: list[dict[str, Any]]) -> None:
    """TTFT overhead and duration stretch of each row against direct at its size."""
    for row in rows:
        direct = _row(rows, "direct", row.get("streams", 0))
        if direct is None or "failed" in row or row["target"] == "direct":
            continue
        for pct in ("p50", "p99"):
            mine, floor = row.get(f"ttft_{pct}_ms"), direct.get(f"ttft_{pct}_ms")
            if mine is not None and floor is not None:
                row[f"ttft_overhead_{pct}_ms"] = round(mine - floor, 2)
        mine, floor = row.get("duration_p50_ms"), direct.get("duration_p50_ms")
        if mine is not None and floor:
            row["stretch_pct"] = round((mine / floor - 1) * 100, 2)


def _refused(row: dict[str, Any]) -> int:
    statuses = row.get("statuses") or {}
    return sum(n for status, n in statuses.items() if not status.startswith("2"))


def _goal(goal: str, value: Any, met: bool | None) -> dict[str, Any]:
    status = "not measured" if met is None else ("met" if met else "not met")
    return {"goal": goal, "value": value, "status": status}


def judge(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with_overheads(rows)
    at_2000 = _row(rows, "relayscope", 2000)
    at_5000 = _row(rows, "relayscope", 5000)
    ones = [r for r in rows if r.get("target") == "relayscope" and "failed" not in r]
    goals = []
    p99 = at_2000.get("ttft_overhead_p99_ms") if at_2000 else None
    goals.append(_goal(GOALS[0], p99, None if p99 is None else p99 <= 100))
    stretch = at_2000.get("stretch_pct") if at_2000 else None
    goals.append(_goal(GOALS[1], stretch, None if stretch is None else stretch <= 5))
    if at_5000 is None:
        goals.append(_goal(GOALS[2], None, None))
    else:
        failed = _refused(at_5000) + sum((at_5000.get("errors") or {}).values())
        value = {
            "refused": _refused(at_5000),
            "errors": at_5000.get("errors"),
            "ok": at_5000["completed"],
        }
        goals.append(_goal(GOALS[2], value, failed == 0 and at_5000["completed"] == 5000))
    rss = [r["rss_kib_per_stream"] for r in ones if r.get("rss_kib_per_stream") is not None]
    worst = max(rss) if rss else None
    goals.append(_goal(GOALS[3], worst, None if worst is None else worst <= 32))
    ratios = []
    for row in ones:
        portkey = _row(rows, "portkey", row["streams"])
        mine = row.get("capacity_chunks_per_s_per_core")
        theirs = portkey.get("capacity_chunks_per_s_per_core") if portkey else None
        if mine and theirs:
            ratios.append(round(mine / theirs, 2))
    ratio = min(ratios) if ratios else None
    goals.append(_goal(GOALS[4], ratio, None if ratio is None else ratio >= 2))
    records = [r["records"] for r in rows if r.get("records")]
    lost = sum(r["lost"] for r in records) if records else None
    goals.append(_goal(GOALS[5], lost, None if lost is None else lost == 0))
    return goals


COLUMNS = (
    ("target", "target"),
    ("completed", "ok"),
    ("refused", "refused"),
    ("errors", "errors"),
    ("ttft_p50_ms", "TTFT P50 ms"),
    ("ttft_p99_ms", "TTFT P99 ms"),
    ("ttft_overhead_p50_ms", "overhead P50 ms"),
    ("ttft_overhead_p99_ms", "overhead P99 ms"),
    ("stretch_pct", "stretch %"),
    ("chunks_per_s_per_worker", "chunks/s/worker"),
    ("cpu_us_per_chunk", "CPU µs/chunk"),
    ("capacity_chunks_per_s_per_core", "chunks/s per core (CPU-bound)"),
    ("rss_kib_per_stream", "RSS KiB/stream"),
    ("lost", "lost records"),
)


def _cell(row: dict[str, Any], key: str) -> str:
    if key == "refused":
        return str(_refused(row))
    if key == "errors":
        errors = row.get("errors") or {}
        return str(sum(errors.values())) + (f" {errors}" if errors else "")
    if key == "lost":
        records = row.get("records")
        return "" if not records else f"{records['lost']} of {records['answered_2xx']}"
    value = row.get(key)
    return "" if value is None else str(value)


def markdown(result: dict[str, Any]) -> str:
    config, rows = result["config"], result["rows"]
    lines = [
        "# Streaming at scale (`python -m bench.streams`)",
        "",
        f"{config['chunks']} SSE chunks per stream, {config['chunk_delay_ms']:g} ms apart; all "
        f"streams opened at once. Gateway pinned to core {config['gateway_core']}, upstream "
        f"and load to core {config['load_core']}. Calibration (upstream CPU µs per chunk, "
        f"direct): {result.get('calibration_us')}. Load average before "
        f"{_load(config['loadavg_before'])}, after {_load(config['loadavg_after'])}.",
        "",
    ]
    for name, reason in config.get("skipped", {}).items():
        lines.append(f"- {name} skipped: {reason}")
    for entry in config.get("out_of_time", []):
        lines.append(f"- not run (time budget): {entry}")
    for size in config["sizes"]:
        lines += ["", f"## {size:,} concurrent streams", ""]
        lines.append("| " + " | ".join(title for _, title in COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        for row in rows:
            if row.get("streams") != size:
                continue
            if "failed" in row:
                lines.append(f"| {row['target']} | failed: {row['failed'][:200]} |")
                continue
            lines.append("| " + " | ".join(_cell(row, key) for key, _ in COLUMNS) + " |")
    lines += ["", "## Targets (issue 22)", "", "| goal | value | status |", "|---|---|---|"]
    for goal in result["goals"]:
        lines.append(f"| {goal['goal']} | {goal['value']} | {goal['status']} |")
    lines += [
        "",
        "CPU µs/chunk is the gateway process tree's user+system CPU over the run divided by "
        "the SSE events the clients read; chunks/s per core is its inverse (what one core "
        "could carry, CPU-bound). RSS per stream is the tree's peak RSS during the run "
        "minus its idle RSS, over the streams. Lost records: 2xx answers whose Helicone-Id "
        "is not in the store after 60 s.",
    ]
    return "\n".join(lines) + "\n"


def _load(values: Any) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "?"
