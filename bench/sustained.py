"""`python -m bench.sustained`: a long run at a fixed offered rate, the store growing.

The 10-second phases of `python -m bench` cannot show a log writer that falls
behind: its queue only grows over minutes, as the store grows. This runs one
`relayscope serve` (SQLite, or a fresh Postgres database) in front of the bench
upstream, first a short ramp (steps of rising rate) to find the highest rate at
which the log queue stays bounded, then `--duration` seconds at one fixed rate
(that one, or `--rate`), open loop, varied traffic (`bench/sustainload.py`).
Every `--sample-interval` it reads the gateway's `/metrics` (log queue depth,
age of the last stored batch, records written, store write time) and its RSS and
CPU. Afterwards, every answered `Helicone-Id` must be in the store (counted in
SQL, so millions of ids cost no memory here). Results: `sustained-<store>.{json,md}` and
one line appended to `sustained-history.jsonl` (`bench/sustainreport.py`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import aio, meta, output, sustainreport
from bench.load import BENCH_DIR, ROOT
from bench.procs import (
    HOST,
    Managed,
    StartError,
    exit_on_sigterm,
    tail,
    tree_cpu_seconds,
    tree_rss_mib,
    wait_until,
)
from bench.provision import Tools, check_relayscope, relayscope_command
from bench.run import probe, upstream, upstream_completions
from bench.sustainreport import queue_bound
from bench.targets import Context, RelayScope, Running

METRICS = {
    "queue_depth": "relayscope_log_queue_depth",
    "last_stored_age_s": "relayscope_log_seconds_since_last_stored_batch",
    "written": 'relayscope_log_records_total{outcome="written"}',
    "spooled": 'relayscope_log_records_total{outcome="spooled"}',
    "write_seconds": "relayscope_store_write_seconds_sum",
    "write_batches": "relayscope_store_write_seconds_count",
    "spool_bytes": "relayscope_log_spool_bytes",
}
RAMP_SAMPLE_S = 2.0
ANSWERED_SHARE = 0.97
"""A ramp step holds its rate when at least this share of it was answered."""


@dataclass
class Options:
    store: str
    duration: float
    rate: float | None
    ramp: list[float]
    ramp_step_s: float
    sample_interval: float
    stream_share: float
    max_connections: int
    drain_deadline: float
    seed: int
    relayscope_cmd: str | None
    results_dir: Path
    keep_workdir: bool


def log(msg: str) -> None:
    print(f"[sustained] {msg}", flush=True)


def scrape(port: int) -> dict[str, float]:
    """The log writer's figures from the gateway's /metrics (absent ones left out)."""
    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        for key, metric in METRICS.items():
            if name == metric:
                values[key] = float(value)
    return values


class Gateway:
    """The running gateway and what the bench reads from it."""

    def __init__(self, running: Running, upstream_port: int, upstream_pid: int) -> None:
        self.running = running
        self.port = running.endpoint.port
        self.pid = running.rss_pid or 0
        self.key = running.endpoint.headers["Helicone-Auth"].removeprefix("Bearer ")
        self.url = running.database_url or ""
        self.upstream_port = upstream_port
        self.upstream_pid = upstream_pid

    def store_bytes(self) -> int | None:
        if self.url.startswith("sqlite:///"):
            path = Path(self.url.removeprefix("sqlite:///"))
            return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        out = _psql(self.url, "SELECT pg_database_size(current_database())")
        return int(out) if out and out.isdigit() else None

    def missing(self, ids_file: Path) -> int | None:
        """Answered ids not in the store, counted by the database itself."""
        if self.url.startswith("sqlite:///"):
            return _sqlite_missing(Path(self.url.removeprefix("sqlite:///")), ids_file)
        script = (
            "CREATE TEMP TABLE answered (id text);\n"
            f"\\copy answered FROM '{ids_file}'\n"
            "SELECT count(*) FROM answered a "
            "WHERE NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = a.id);\n"
        )
        out = _psql(self.url, script, timeout=600)
        last = out.splitlines()[-1] if out else ""
        return int(last) if last.isdigit() else None

    def rows(self) -> int | None:
        if self.url.startswith("sqlite:///"):
            path = Path(self.url.removeprefix("sqlite:///"))
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as db:
                return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])
        out = _psql(self.url, "SELECT count(*) FROM requests")
        return int(out) if out and out.isdigit() else None


def _psql(url: str, script: str, timeout: float = 60) -> str | None:
    psql = shutil.which("psql")
    if psql is None:
        return None
    proc = subprocess.run(
        [psql, url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
        input=script,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _sqlite_missing(path: Path, ids_file: Path) -> int | None:
    try:
        with closing(sqlite3.connect(path, timeout=30)) as db:
            db.execute("CREATE TEMP TABLE answered (id TEXT)")
            with ids_file.open() as ids:
                db.executemany(
                    "INSERT INTO answered VALUES (?)", ((line.strip(),) for line in ids if line)
                )
            found = db.execute(
                "SELECT count(*) FROM answered WHERE id NOT IN (SELECT id FROM requests)"
            ).fetchone()
    except sqlite3.Error as exc:
        log(f"could not count lost ids: {exc}")
        return None
    return int(found[0])


class Sampler:
    """Samples at a fixed interval while a load process runs."""

    def __init__(self, gateway: Gateway, t0: float, interval: float) -> None:
        self.gateway = gateway
        self.t0 = t0
        self.interval = interval
        self.rows: list[dict[str, Any]] = []
        self._last: tuple[float, float, float, float] | None = None

    def sample(self, with_store_size: bool) -> dict[str, Any]:
        now = time.monotonic()
        cpu = tree_cpu_seconds(self.gateway.pid)
        try:
            figures: dict[str, float] | None = scrape(self.gateway.port)
        except OSError as exc:
            figures = None
            log(f"/metrics did not answer: {exc}")
        got = figures or {}
        row: dict[str, Any] = {
            "t": round(now - self.t0, 1),
            "metrics_answered": figures is not None,
            "queue_depth": got.get("queue_depth"),
            "last_stored_age_s": _round(got.get("last_stored_age_s"), 2),
            "written": got.get("written"),
            "spooled": got.get("spooled"),
            "spool_bytes": got.get("spool_bytes"),
            "rss_mib": round(tree_rss_mib(self.gateway.pid), 1),
        }
        if figures is None:  # no counters this time: the next rates span two intervals
            self.rows.append(row)
            return row
        written, write_s = figures.get("written", 0.0), figures.get("write_seconds", 0.0)
        # A rate over a short last interval (the load just ended) would only be noise.
        if self._last is not None and now - self._last[0] >= self.interval / 2:
            then, cpu0, written0, write_s0 = self._last
            span = now - then
            row["stored_per_s"] = round((written - written0) / span, 1)
            row["cpu_pct"] = round(100 * (cpu - cpu0) / span, 1)
            row["writer_busy_pct"] = round(100 * (write_s - write_s0) / span, 1)
        self._last = (now, cpu, written, write_s)
        if with_store_size:
            row["store_mib"] = _round(_mib(self.gateway.store_bytes()), 1)
        self.rows.append(row)
        return row

    def watch(self, load: Managed, with_store_size: bool) -> None:
        due = self.t0
        while load.alive():
            if time.monotonic() >= due:
                self.sample(with_store_size)
                due += self.interval
            time.sleep(min(0.2, max(0.0, due - time.monotonic())))
            if not _alive(self.gateway.pid):
                raise StartError("the gateway exited during the load")


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _mib(value: int | None) -> float | None:
    return value / 2**20 if value is not None else None


def run_load(
    stack: ExitStack,
    gw: Gateway,
    o: Options,
    workdir: Path,
    name: str,
    steps: list[tuple[float, float]],
    interval: float,
    with_store_size: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One load process over ``steps``; its summary and the samples taken meanwhile."""
    t0 = time.monotonic() + 2.0
    argv = [
        sys.executable,
        "-m",
        "bench.sustainload",
        "--port",
        str(gw.port),
        "--key",
        gw.key,
        "--steps",
        ",".join(f"{s:g}:{r:g}" for s, r in steps),
        "--t0",
        repr(t0),
        "--ids-dir",
        str(workdir / f"ids-{name}"),
        "--stream-share",
        str(o.stream_share),
        "--max-connections",
        str(o.max_connections),
        "--seed",
        str(o.seed + len(name)),
    ]
    load = Managed(name, argv, workdir / f"{name}.log", cwd=ROOT)
    stack.callback(load.stop)
    sampler = Sampler(gw, t0, interval)
    sampler.watch(load, with_store_size)
    load.proc.wait(timeout=120)
    sampler.sample(with_store_size)
    summary = aio.result_line(load.output())
    if summary is not None:
        return summary, sampler.rows
    raise StartError(f"the load process printed no result:\n{tail(load.log_path)}")


def wait_drained(gw: Gateway, deadline_s: float) -> float:
    """Seconds until the log queue is empty and the written count holds still."""
    start = time.monotonic()
    last: float | None = None

    def drained() -> bool:
        nonlocal last
        figures = scrape(gw.port)
        written = figures.get("written")
        settled = figures.get("queue_depth") == 0 and written == last
        last = written
        return settled

    wait_until(drained, deadline_s, "the log queue to drain", interval=0.5)
    return round(time.monotonic() - start, 1)


def ramp_verdicts(summary: dict[str, Any], samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per ramp step: held (answered its rate) and bounded (queue in its second half)."""
    out = []
    start = 0.0
    for step in summary["steps"]:
        end = start + step["seconds"]
        late = [
            s["queue_depth"]
            for s in samples
            if start + step["seconds"] / 2 <= s["t"] <= end and s["queue_depth"] is not None
        ]
        peak = max(late) if late else None
        held = step["not_sent"] == 0 and step["answered_per_s"] >= ANSWERED_SHARE * step["rate"]
        bounded = peak is not None and peak <= queue_bound(step["rate"])
        out.append({**step, "queue_peak_late": peak, "held": held, "bounded": bounded})
        start = end
    return out


def highest_bounded(steps: list[dict[str, Any]]) -> float | None:
    """The highest rate below the first step that failed (held and bounded)."""
    best = None
    for step in steps:
        if not (step["held"] and step["bounded"]):
            break
        best = step["rate"]
    return best


def start_gateway(
    target: RelayScope, ctx: Context, workdir: Path, stack: ExitStack, name: str
) -> Gateway:
    """A fresh gateway and store for one phase, answering the probe."""
    rundir = workdir / name
    rundir.mkdir()
    gw = Gateway(target.start(ctx, rundir, stack), ctx.upstream_port, ctx.upstream_pid)
    probe(gw.running.endpoint, rundir)
    return gw


def find_rate(o: Options, target: RelayScope, ctx: Context, workdir: Path) -> list[dict[str, Any]]:
    """The ramp, on a gateway of its own (its overload must not be in the fixed phase's
    RSS): one load process a step, the queue drained between steps, up to the first
    step that is not held or not bounded."""
    log(f"ramp: up to {', '.join(f'{r:g}' for r in o.ramp)} req/s, {o.ramp_step_s:g} s each")
    steps: list[dict[str, Any]] = []
    with ExitStack() as stack:
        gw = start_gateway(target, ctx, workdir, stack, "ramp")
        for rate in o.ramp:
            summary, samples = run_load(
                stack,
                gw,
                o,
                workdir,
                f"ramp-{rate:g}",
                [(o.ramp_step_s, rate)],
                RAMP_SAMPLE_S,
                False,
            )
            (step,) = ramp_verdicts(summary, samples)
            steps.append(step)
            log(
                f"ramp {rate:g} req/s: answered {step['answered_per_s']:g}/s, "
                f"queue peak {step['queue_peak_late']}, held {step['held']}, "
                f"bounded {step['bounded']}"
            )
            if not (step["held"] and step["bounded"]):
                break
            wait_drained(gw, o.drain_deadline)
    log(f"highest bounded rate in the ramp: {highest_bounded(steps)}")
    return steps


def run(o: Options) -> int:
    cmd = relayscope_command(o.relayscope_cmd)
    reason = check_relayscope(cmd)
    if reason:
        log(reason)
        return 2
    tools = Tools(relayscope=cmd, psql=shutil.which("psql"))
    if o.store == "postgres" and not tools.psql:
        log("--store postgres needs psql on PATH")
        return 2
    facts = meta.collect(tools)
    loadavg_before = os.getloadavg()
    with output.workdir("relayscope-sustained-", o.keep_workdir, log) as workdir:
        try:
            with ExitStack() as stack, upstream(0.0, workdir, tools) as ctx:
                target = RelayScope(
                    "relayscope-postgres" if o.store == "postgres" else "relayscope",
                    postgres=o.store == "postgres",
                )
                ramp = find_rate(o, target, ctx, workdir) if o.ramp else []
                found = highest_bounded(ramp)
                gw = start_gateway(target, ctx, workdir, stack, "fixed")
                idle_rss = tree_rss_mib(gw.pid)
                rate = o.rate or found or (o.ramp[0] if o.ramp else 1000.0)
                rows_before = gw.rows() or 0
                cpu0, served0 = _cpu(ctx.upstream_pid), upstream_completions(ctx.upstream_port)
                log(f"fixed rate {rate:g} req/s for {o.duration:g} s, store {o.store}; {workdir}")
                fixed, series = run_load(
                    stack, gw, o, workdir, "fixed", [(o.duration, rate)], o.sample_interval, True
                )
                served = upstream_completions(ctx.upstream_port) - served0
                calibration = (_cpu(ctx.upstream_pid) - cpu0) * 1e6 / served if served else None
                drain_s = wait_drained(gw, o.drain_deadline)
                ids_file = workdir / "ids-fixed" / "sustained.ids"
                answered = sum(1 for _ in ids_file.open())
                lost = gw.missing(ids_file)
                result = sustainreport.build(
                    options=o,
                    facts=facts,
                    rate=rate,
                    found=found,
                    ramp=ramp,
                    fixed=fixed,
                    series=series,
                    idle_rss=idle_rss,
                    drain_s=drain_s,
                    answered=answered,
                    lost=lost,
                    rows_before=rows_before,
                    rows_after=gw.rows(),
                    calibration_us=calibration,
                    loadavg=(loadavg_before, os.getloadavg()),
                )
        except (StartError, OSError, subprocess.SubprocessError) as exc:
            log(f"sustained run failed: {exc}"[-4000:])
            return 1
    json_path, md_path = sustainreport.write(result, o.results_dir)
    print()
    print(md_path.read_text())
    log(f"wrote {json_path} and {md_path}")
    return 0


def _cpu(pid: int) -> float:
    return tree_cpu_seconds(pid)


def _rates(text: str) -> list[float]:
    return [float(r) for r in text.split(",") if r.strip()]


def parse(argv: list[str] | None) -> Options:
    ap = argparse.ArgumentParser(
        prog="python -m bench.sustained",
        description="Sustained throughput: the store growing, the log queue watched.",
    )
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--duration", type=float, default=1800.0, help="fixed-rate seconds (1800)")
    ap.add_argument("--rate", type=float, help="fixed offered rate (default: the ramp's finding)")
    ap.add_argument(
        "--ramp",
        type=_rates,
        default=_rates("500,1000,1500,2000,2500,3000"),
        help="ramp rates, comma-separated; empty for none (default 500,...,3000)",
    )
    ap.add_argument("--ramp-step", type=float, default=20.0, help="seconds per ramp step (20)")
    ap.add_argument("--sample-interval", type=float, default=10.0)
    ap.add_argument("--stream-share", type=float, default=0.1)
    ap.add_argument("--max-connections", type=int, default=256)
    ap.add_argument("--drain-deadline", type=float, default=600.0)
    ap.add_argument("--seed", type=int, default=27)
    ap.add_argument("--relayscope-cmd", help="command that runs the gateway CLI")
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    ap.add_argument("--keep-workdir", action="store_true")
    a = ap.parse_args(argv)
    if a.duration <= 0 or (a.rate is not None and a.rate <= 0):
        ap.error("--duration and --rate must be positive")
    return Options(
        store=a.store,
        duration=a.duration,
        rate=a.rate,
        ramp=a.ramp,
        ramp_step_s=a.ramp_step,
        sample_interval=a.sample_interval,
        stream_share=a.stream_share,
        max_connections=a.max_connections,
        drain_deadline=a.drain_deadline,
        seed=a.seed,
        relayscope_cmd=a.relayscope_cmd,
        results_dir=a.results_dir,
        keep_workdir=a.keep_workdir,
    )


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
