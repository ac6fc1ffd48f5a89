"""Dashboard at scale: every dashboard page and the JSON API behind it, on a store of
1,000,000 requests.

    python -m bench.dashboard [--rows 1000000] [--db PATH [--reuse]] [--seed-timeout 780]

Seeds a fresh SQLite store with `python -m relayscope.testing.seed` (skipped with
`--reuse` when `--db` already holds rows), makes a gateway key for the seeded org
(`relayscope keys create --org seed`), starts `relayscope serve` on it (loopback,
free port) and times, over HTTP, every page of the dashboard by its server time
(``bench/dashpages.py``: the ``Server-Timing`` header, target < 300 ms on the
median of the repeats, the first call reported too) and every query of the JSON
API by the client's clock (target < 1 s). If seeding does not finish within
`--seed-timeout` seconds it is stopped and the rows already committed are used
(the report says how many). Writes `bench/results/dashboard.{json,md}` (the last
run) and appends the run to `bench/results/dashboard-history.jsonl` (every run,
with the commit and the load average; a page is judged over all the runs of one
commit, as `bench/history.py` judges the other scenarios).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import dashpages, history, output
from bench.gateway import create_key, serve
from bench.load import BENCH_DIR, ROOT
from bench.meta import relayscope_info
from bench.procs import Managed
from bench.provision import relayscope_command

LIMIT_MS = 1000.0
ORG = "seed"
HISTORY_FILE = "dashboard-history.jsonl"


def log(msg: str) -> None:
    print(f"[dashboard] {msg}", flush=True)


def count_rows(path: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
            return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])
    except sqlite3.Error:
        return 0


def seed(path: Path, rows: int, timeout_s: float, workdir: Path) -> dict[str, Any]:
    argv = [sys.executable, "-m", "relayscope.testing.seed", "--rows", str(rows)]
    argv += ["--db", f"sqlite:///{path}", "--org", ORG, "--batch", "5000"]
    log(f"seeding {rows:,} rows into {path} (at most {timeout_s:.0f} s) ...")
    started = time.monotonic()
    proc = Managed("seed", argv, workdir / "seed.log", cwd=ROOT)
    finished = True
    try:
        proc.proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        finished = False
        log("seeding timed out: stopping it and using the rows already committed")
    finally:
        proc.stop()
    seconds = time.monotonic() - started
    n = count_rows(path)
    log(f"seeded {n:,} rows in {seconds:.0f} s ({n / max(seconds, 1e-9):,.0f} rows/s)")
    return {"requested": rows, "rows": n, "seconds": round(seconds, 1), "finished": finished}


def queries(now: datetime) -> list[tuple[str, str, dict[str, str]]]:
    """(label, path, params) for every call the explorer and analytics pages make."""
    d30 = {"from": (now - timedelta(days=30)).isoformat(), "to": now.isoformat()}
    d1 = {"from": (now - timedelta(days=1)).isoformat(), "to": now.isoformat()}
    ts = "/api/analytics/timeseries"
    return [
        ("explorer first page", "/api/requests", {}),
        ("explorer, user filter", "/api/requests", {"user_id": "user-0042"}),
        ("explorer, rare user", "/api/requests", {"user_id": "user-9999"}),
        ("explorer, property filter", "/api/requests", {"property.feature": "chat"}),
        ("explorer, model filter", "/api/requests", {"model": "gpt-4o"}),
        ("explorer, status=error", "/api/requests", {"status": "error"}),
        ("explorer, search common word", "/api/requests", {"search": "volcano"}),
        ("explorer, search absent word", "/api/requests", {"search": "zzzabsent"}),
        ("summary, all time", "/api/analytics/summary", {}),
        ("summary, 30 days", "/api/analytics/summary", d30),
        ("summary, 30 days, model filter", "/api/analytics/summary", {**d30, "model": "gpt-4o"}),
        (
            "cost by model, 30 d hourly",
            ts,
            {**d30, "metric": "cost", "group_by": "model", "granularity": "hour"},
        ),
        (
            "cost by model, 30 d daily",
            ts,
            {**d30, "metric": "cost", "group_by": "model", "granularity": "day"},
        ),
        (
            "cost by user, 30 d daily",
            ts,
            {**d30, "metric": "cost", "group_by": "user", "granularity": "day"},
        ),
        (
            "cost by property, 30 d hourly",
            ts,
            {**d30, "metric": "cost", "group_by": "property:feature", "granularity": "hour"},
        ),
        ("requests, 30 d hourly", ts, {**d30, "metric": "requests", "granularity": "hour"}),
        ("error rate, 30 d hourly", ts, {**d30, "metric": "error_rate", "granularity": "hour"}),
        ("latency P50/95/99, 30 d hourly", ts, {**d30, "metric": "latency", "granularity": "hour"}),
        ("latency P50/95/99, 30 d daily", ts, {**d30, "metric": "latency", "granularity": "day"}),
        (
            "latency P50/95/99, 24 h by minute",
            ts,
            {**d1, "metric": "latency", "granularity": "minute"},
        ),
        (
            "tokens by kind, 30 d hourly",
            ts,
            {**d30, "metric": "token_kinds", "granularity": "hour"},
        ),
        ("cost saved, 30 d hourly", ts, {**d30, "metric": "cost_saved", "granularity": "hour"}),
        (
            "cache hit rate, 30 d hourly",
            ts,
            {**d30, "metric": "cache_hit_rate", "granularity": "hour"},
        ),
        ("TTFT P50/95, 24 h hourly", ts, {**d1, "metric": "ttft", "granularity": "hour"}),
        ("TTFT P50/95, 30 d daily", ts, {**d30, "metric": "ttft", "granularity": "day"}),
        (
            "latency P95 by model, top 10, 24 h hourly",
            ts,
            {**d1, "metric": "latency", "group_by": "model", "stat": "p95", "limit": "10"},
        ),
        (
            "average latency by user, top 10, 30 d daily",
            ts,
            {**d30, "metric": "avg_latency", "group_by": "user", "limit": "10"},
        ),
        (
            "latency P95 by user, top 10, 30 d daily",
            ts,
            {**d30, "metric": "latency", "group_by": "user", "stat": "p95", "limit": "10"},
        ),
        ("users, 30 d", "/api/users", d30),
        ("properties, 30 d", "/api/properties", d30),
        ("property values (feature), 30 d", "/api/properties/feature", d30),
        ("sessions, 30 d", "/api/sessions", d30),
    ]


def timed_get(url: str, key: str) -> tuple[float, int, int]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            body = resp.read()
            status = resp.status
    except urllib.error.HTTPError as exc:
        body, status = exc.read(), exc.code
    return (time.perf_counter() - t0) * 1000, status, len(body)


def measure(base: str, key: str, now: datetime, repeats: int) -> list[dict[str, Any]]:
    out = []
    for label, path, params in queries(now):
        url = f"{base}{path}" + (f"?{urlencode(params)}" if params else "")
        first, status, size = timed_get(url, key)
        rest = [timed_get(url, key) for _ in range(repeats)]
        statuses = {status, *(s for _, s, _ in rest)}
        med = statistics.median(ms for ms, _, _ in rest)
        row = {
            "query": label,
            "path": path,
            "params": params,
            "first_ms": round(first, 1),
            "median_ms": round(med, 1),
            "max_ms": round(max([first, *(ms for ms, _, _ in rest)]), 1),
            "status": sorted(statuses),
            "bytes": size,
            "met": statuses == {200} and max(first, med) < LIMIT_MS,
        }
        log(f"{label}: first {first:.0f} ms, median {med:.0f} ms, HTTP {sorted(statuses)}")
        out.append(row)
    return out


def markdown(result: dict[str, Any]) -> str:
    s, cfg = result["seed"], result["config"]
    rows = s["rows"]
    lines = [
        f"# Dashboard at scale — {result['timestamp']} (commit {result.get('commit')})",
        "",
        f"- Store: SQLite, {rows:,} requests over 30 days (seeded by "
        "`relayscope.testing.seed`"
        + (
            ", reused from an earlier seeding run (`--reuse`)"
            if s.get("reused")
            else f", {s['seconds']} s"
        )
        + ("" if s.get("finished", True) else f", stopped early: {s['requested']:,} requested")
        + ")",
        f"- Machine: {os.cpu_count()} cores, shared; load average before "
        f"{cfg['loadavg_before']}, after {cfg['loadavg_after']}",
        "",
    ]
    if result.get("pages"):
        lines += [
            "## Pages (server time)",
            "",
            "Each page's `Server-Timing: app;dur=` (from the request reaching the dashboard "
            f"to its headers): first call and median of {cfg['repeats']} more; target "
            f"median < {dashpages.PAGE_LIMIT_MS:.0f} ms.",
            "",
            "| Page | First ms | Median ms | Client median ms | HTTP | < 300 ms |",
            "|---|---|---|---|---|---|",
        ]
        for p in result["pages"]:
            lines.append(
                f"| {p['page']} | {_ms(p['first_ms'])} | {_ms(p['median_ms'])} "
                f"| {_ms(p['client_median_ms'])} | {','.join(map(str, p['status']))} "
                f"| **{'met' if p['met'] else 'missed'}** |"
            )
        lines.append("")
    if result.get("queries"):
        lines += [
            "## JSON API (client time)",
            "",
            f"Through the gateway's HTTP API on loopback; first call and median of "
            f"{cfg['repeats']} more; target < {LIMIT_MS:.0f} ms for both.",
            "",
            "| Query | First ms | Median ms | HTTP | < 1 s |",
            "|---|---|---|---|---|",
        ]
        for q in result["queries"]:
            lines.append(
                f"| {q['query']} | {q['first_ms']:,.1f} | {q['median_ms']:,.1f} "
                f"| {','.join(map(str, q['status']))} | **{'met' if q['met'] else 'missed'}** |"
            )
        lines.append("")
    lines.append(f"Missed: {', '.join(result['missed']) if result['missed'] else 'none'}.")
    if result.get("history"):
        lines += ["", "## Over every run of this commit", "", *result["history"]]
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def history_line(result: dict[str, Any]) -> dict[str, Any]:
    """The run as one line of ``dashboard-history.jsonl``, in the shape
    ``bench/history.py`` judges: one goal per page, its value the median."""
    config = result["config"]
    goals = [
        {
            "goal": f"{p['page']}: median server ms < {dashpages.PAGE_LIMIT_MS:.0f}",
            "value": p["median_ms"],
            "status": "met" if p["met"] else "missed",
        }
        for p in result["pages"]
    ]
    return {
        "timestamp": result["timestamp"],
        "commit": result["commit"],
        "source": "run",
        "load_generator": f"sqlite-{result['seed']['rows']}-rows",
        "rows": result["seed"]["rows"],
        "repeats": config["repeats"],
        "loadavg_before": config["loadavg_before"],
        "loadavg_after": config["loadavg_after"],
        "pages": {p["page"]: [p["first_ms"], p["median_ms"]] for p in result["pages"]},
        "queries": {q["query"]: [q["first_ms"], q["median_ms"]] for q in result["queries"]},
        "goals": goals,
    }


def keep(result: dict[str, Any], results_dir: Path) -> list[str]:
    """Append ``result`` to the history (never rewritten); the verdicts over every run
    of its commit, as Markdown lines."""
    line = history_line(result)
    results_dir.mkdir(parents=True, exist_ok=True)
    with (results_dir / HISTORY_FILE).open("a") as out:
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
    runs = history.same_commit(
        history.load(results_dir, HISTORY_FILE), line["commit"], line["load_generator"]
    )
    loads = ", ".join(str(r["loadavg_before"][0]) for r in runs)
    return [
        *history.markdown(history.judge(runs), runs, HISTORY_FILE),
        "",
        f"1-minute load average before each run: {loads}.",
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, help="SQLite file (default: a temp file, removed after)")
    ap.add_argument("--reuse", action="store_true", help="use --db as it is when it has rows")
    ap.add_argument("--seed-timeout", type=float, default=780.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pages-only", action="store_true", help="time the pages, not the API")
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    a = ap.parse_args(argv)

    cmd = relayscope_command(None)
    with output.workdir("relayscope-dashboard-", False, log) as workdir:
        path = a.db.resolve() if a.db else workdir / "dashboard.db"
        loadavg_before = [round(x, 2) for x in os.getloadavg()]
        try:
            if a.reuse and path.exists() and count_rows(path) > 0:
                n = count_rows(path)
                log(f"reusing {path} with {n:,} rows")
                seeded = {
                    "requested": a.rows,
                    "rows": n,
                    "seconds": None,
                    "finished": True,
                    "reused": True,
                }
            else:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                seeded = seed(path, a.rows, a.seed_timeout, workdir)
            env = {**os.environ, "RELAYSCOPE_DATABASE_URL": f"sqlite:///{path}"}
            key = create_key(cmd, env, workdir, org=ORG, timeout=120)
            with ExitStack() as stack:
                served = serve(stack, cmd, env, workdir, ready_s=600)
                loadavg_before = [round(x, 2) for x in os.getloadavg()]
                now = datetime.now(UTC)
                pages = dashpages.measure(
                    served.url,
                    dashpages.sign_in(served.url, key),
                    dashpages.pages(*sample_ids(served.url, key)),
                    a.repeats,
                    log,
                )
                results = [] if a.pages_only else measure(served.url, key, now, a.repeats)
        finally:
            if not a.db:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)

    result: dict[str, Any] = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": relayscope_info(cmd).get("commit"),
        "config": {
            "repeats": a.repeats,
            "limit_ms": LIMIT_MS,
            "page_limit_ms": dashpages.PAGE_LIMIT_MS,
            "timing": "pages: Server-Timing app;dur (server); API: client wall time",
            "loadavg_before": loadavg_before,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "cores": os.cpu_count(),
        },
        "seed": seeded,
        "pages": pages,
        "queries": results,
        "missed": [p["page"] for p in pages if not p["met"]]
        + [q["query"] for q in results if not q["met"]],
    }
    result["history"] = keep(result, a.results_dir)
    md = markdown(result)
    # A pages-only look keeps the last full run (and the docs made from it).
    output.write(a.results_dir, "dashboard-pages" if a.pages_only else "dashboard", result, md)
    if a.results_dir == BENCH_DIR / "results" and not a.pages_only:
        DOCS.write_text(render_docs(DOCS.read_text(), result))
    print(md)
    return 0


def sample_ids(base: str, key: str) -> tuple[str, str]:
    """A request id and a session id of the seeded org (the newest of each)."""
    ids = []
    for path in ("/api/requests?limit=1", "/api/sessions?limit=1"):
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            first = json.loads(resp.read())["data"][0]
        ids.append(first.get("id") or first["session_id"])
    return ids[0], ids[1]


DOCS = ROOT / "docs" / "dashboard.md"
DOCS_START, DOCS_END = "<!-- timings:start -->", "<!-- timings:end -->"


def docs_table(result: dict[str, Any]) -> str:
    """docs/dashboard.md's timing tables: every page and query of the committed run,
    missed ones included, with the run's date and the machine's load."""
    config, seed = result["config"], result["seed"]
    load = ", ".join(str(x) for x in config["loadavg_before"])
    lines = [
        f"Run of {result['timestamp'][:10]} (`bench/results/dashboard.json`), "
        f"{seed['rows']:,} requests over 30 days, on {config['cores']} cores (load "
        f"average {load} before it): first call and median of {config['repeats']} more.",
        "",
    ]
    if result.get("pages"):
        limit = config.get("page_limit_ms", dashpages.PAGE_LIMIT_MS)
        lines += [
            f"Pages, by their server time (`Server-Timing`), target a median under "
            f"{limit:,.0f} ms:",
            "",
            "| Page | first | median | under the target |",
            "|---|---|---|---|",
        ]
        for p in result["pages"]:
            verdict = "yes" if p["met"] else "**no**"
            lines.append(
                f"| {p['page']} | {_ms(p['first_ms'])} ms | {_ms(p['median_ms'])} ms | {verdict} |"
            )
        lines.append("")
    lines += [
        f"The JSON API, by the client's clock on loopback, target under "
        f"{config['limit_ms']:,.0f} ms:",
        "",
        "| Query | first | median | under the target |",
        "|---|---|---|---|",
    ]
    for q in result["queries"]:
        verdict = "yes" if q["met"] else "**no**"
        lines.append(f"| {q['query']} | {q['first_ms']:,} ms | {q['median_ms']:,} ms | {verdict} |")
    return "\n".join(lines)


def render_docs(text: str, result: dict[str, Any]) -> str:
    start, end = text.index(DOCS_START) + len(DOCS_START), text.index(DOCS_END)
    return f"{text[:start]}\n{docs_table(result)}\n{text[end:]}"


if __name__ == "__main__":
    sys.exit(main())
