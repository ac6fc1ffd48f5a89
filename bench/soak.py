"""`python -m bench.soak`: a long run at a steady rate with faults on a schedule.

A real `relayscope serve` (SQLite, or a fresh Postgres database) in front of the
project's fake provider; a separate load process (`bench/soakload.py`) sends
open-loop traffic; this process switches the store outage on and off, samples the
gateway's memory and spool, then checks that every request whose `Helicone-Id` a
client saw has exactly one stored record. Results: `bench/results/soak.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import aio, meta, output, soakreport
from bench.gateway import create_key, serve
from bench.load import BENCH_DIR, ROOT
from bench.procs import (
    HOST,
    Managed,
    StartError,
    exit_on_sigterm,
    tail,
    tree_pids,
    tree_rss_mib,
    wait_until,
)
from bench.provision import Tools, check_relayscope, relayscope_command
from bench.soakplan import Plan, make_plan
from bench.soakstore import PostgresStore, SoakStore, SqliteStore
from relayscope.testing.process import GatewayProcess

SOAK_REMEMBERED_IDS = 2_000
"""Client ids the soak's gateway remembers (RELAYSCOPE_REQUEST_IDS_REMEMBERED)."""

FAKE_URL = re.compile(r"listening on (http://\S+)")
PROBE_OPENAI = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"probe"}]}'
PROBE_ANTHROPIC = (
    b'{"model":"claude-3-5-haiku-latest","max_tokens":16,'
    b'"messages":[{"role":"user","content":"probe"}]}'
)


@dataclass
class Options:
    duration: float
    rate: float
    store: str
    period: float | None
    fault_s: float | None
    store_down_s: float | None
    client_body_timeout: float
    chunk_delay_ms: float
    stream_share: float
    anthropic_share: float
    fault_share: float
    max_in_flight: int
    request_timeout: float
    sample_interval: float
    drain_deadline: float
    seed: int
    relayscope_cmd: str | None
    results_dir: Path
    keep_workdir: bool


def log(msg: str) -> None:
    print(f"[soak] {msg}", flush=True)


def _launch(stack: ExitStack, name: str, argv: list[str], workdir: Path, **kw: Any) -> Managed:
    # From the repository root: the load process and fake provider run as modules.
    proc = Managed(name, argv, workdir / f"{name}.log", cwd=ROOT, **kw)
    stack.callback(proc.stop)
    return proc


def start_fake(stack: ExitStack, workdir: Path, chunk_delay_ms: float) -> tuple[Managed, str]:
    argv = [
        sys.executable,
        "-m",
        "relayscope.testing.fake_provider",
        "--host",
        HOST,
        "--port",
        "0",
        "--chunk-delay-ms",
        str(chunk_delay_ms),
    ]
    proc = _launch(stack, "fake-provider", argv, workdir)
    found: list[str] = []

    def listening() -> bool:
        match = FAKE_URL.search(proc.output())
        if match:
            found.append(match.group(1))
        return bool(found)

    wait_until(listening, 30, "the fake provider to print its URL", proc)
    return proc, found[0]


def start_gateway(
    stack: ExitStack, workdir: Path, cmd: list[str], store: SoakStore, fake_url: str, o: Options
) -> tuple[GatewayProcess, int, str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYSCOPE_")}
    env |= {
        "RELAYSCOPE_DATA_DIR": str(workdir / "data"),
        "RELAYSCOPE_DATABASE_URL": store.url,
        "RELAYSCOPE_OPENAI_BASE_URL": fake_url,
        "RELAYSCOPE_ANTHROPIC_BASE_URL": fake_url,
        "RELAYSCOPE_CLIENT_BODY_TIMEOUT": str(o.client_body_timeout),
        # Every soak request sends its own id: with the default bound (100,000) the
        # memory of recent ids would still be filling up when the run ends, by design.
        # A small bound lets the growth checks see what is not bounded.
        "RELAYSCOPE_REQUEST_IDS_REMEMBERED": str(SOAK_REMEMBERED_IDS),
        "SOAK_MEMSTATS": str(workdir / "memstats.jsonl"),
    }
    served = serve(stack, cmd, env, workdir, args=["--log-level", "warning"])
    key = create_key(cmd, env, workdir, served=served)
    return served.gateway, served.port, key, env


def read_api(port: int, key: str, started: datetime) -> dict[str, Any] | None:
    """What the read APIs say once the queue drained: the summary over whole hours
    around the run (answered from the rollups) and every id the explorer lists."""
    headers = {"Authorization": f"Bearer {key}"}

    def get(path: str, params: dict[str, Any]) -> Any:
        url = f"http://{HOST}:{port}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=120) as r:
            return json.loads(r.read())

    def iso(moment: datetime) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    hour = started.replace(minute=0, second=0, microsecond=0)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    try:
        summary = get("/api/analytics/summary", {"from": iso(hour), "to": iso(end)})["data"]
        listed: list[str] = []
        cursor = None
        while True:
            page = get("/api/requests", {"limit": 1000, **({"cursor": cursor} if cursor else {})})
            listed += [r["id"] for r in page["data"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
    except (OSError, ValueError, KeyError) as exc:
        log(f"could not read the API after the drain: {exc}")
        return None
    return {"summary_requests": int(summary["requests"]), "listed": listed}


def probe(port: int, key: str) -> list[str]:
    """One OpenAI and one Anthropic request that must succeed before the soak starts."""
    ids = []
    for path, body, extra in (
        ("/openai/v1/chat/completions", PROBE_OPENAI, {"Authorization": "Bearer sk-fake"}),
        (
            "/anthropic/v1/messages",
            PROBE_ANTHROPIC,
            {"x-api-key": "sk-ant-fake", "anthropic-version": "2023-06-01"},
        ),
    ):
        rid = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "Helicone-Auth": f"Bearer {key}",
            "Helicone-Request-Id": rid,
            **extra,
        }
        req = urllib.request.Request(f"http://{HOST}:{port}{path}", body, headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                if resp.status != 200:
                    raise StartError(f"probe {path} got HTTP {resp.status}")
        except urllib.error.HTTPError as exc:
            raise StartError(f"probe {path} got HTTP {exc.code}: {exc.read()[:300]!r}") from exc
        ids.append(rid)
    return ids


def spool_usage(spool: Path) -> tuple[int, int]:
    """(files, bytes) waiting in the spool, claimed-for-replay files included."""
    files = size = 0
    if spool.exists():
        for p in spool.iterdir():
            if p.suffix == ".jsonl" or ".claimed-" in p.name:
                try:
                    size += p.stat().st_size
                except FileNotFoundError:
                    continue
                files += 1
    return files, size


def latest_memstats(path: Path) -> dict[str, Any]:
    """The gateway's last self-reported memory figures (bench/soakgateway.py)."""
    lines = tail(path, 1000).splitlines()
    for line in reversed(lines[1:] if len(lines) > 1 else lines):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        return {
            "malloc_in_use_mib": _mib(row.get("malloc_in_use")),
            "malloc_free_mib": _mib(row.get("malloc_free")),
            "sqlite_mib": _mib(row.get("sqlite_bytes")),
            "py_blocks": row.get("py_blocks"),
        }
    return {}


def _mib(value: int | None) -> float | None:
    return round(value / 2**20, 2) if value is not None else None


def thread_count(pid: int) -> int:
    """Threads of the gateway's process tree (each SQLite connection has one)."""
    total = 0
    for p in tree_pids(pid):
        try:
            total += len(os.listdir(f"/proc/{p}/task"))
        except OSError:
            continue
    return total


class Soak:
    def __init__(self, o: Options, plan: Plan, workdir: Path) -> None:
        self.o = o
        self.plan = plan
        self.workdir = workdir
        self.samples: list[dict[str, Any]] = []
        self.outages: list[dict[str, Any]] = []
        self.crash: str | None = None

    def sample(self, gateway: GatewayProcess, t0: float, spool: Path) -> None:
        files, size = spool_usage(spool)
        t = time.monotonic() - t0
        self.samples.append(
            {
                "t": round(t, 2),
                "phase": self.plan.phase_at(t) if 0 <= t < self.plan.duration else "after",
                "rss_mib": round(tree_rss_mib(gateway.pid), 2),
                "threads": thread_count(gateway.pid),
                **latest_memstats(self.workdir / "memstats.jsonl"),
                "spool_files": files,
                "spool_bytes": size,
            }
        )

    def drive(
        self, gateway: GatewayProcess, load: Managed, store: SoakStore, t0: float, spool: Path
    ) -> None:
        """Until the load process exits: the outage schedule, samples, crash watch."""
        pending = list(self.plan.outages())
        down: dict[str, Any] | None = None
        next_sample = t0
        deadline = t0 + self.plan.duration + self.o.request_timeout + 60
        try:
            while load.alive() and time.monotonic() < deadline:
                now = time.monotonic()
                if not gateway.alive():
                    self.crash = f"gateway exited with {gateway.returncode} during the load"
                    log(self.crash)
                    break
                if down is None and pending and now - t0 >= pending[0].start:
                    window = pending.pop(0)
                    started = time.monotonic()
                    store.down()
                    down = {
                        "planned_start": window.start,
                        "planned_end": window.end,
                        "start": round(started - t0, 2),
                        "lock_wait_s": round(time.monotonic() - started, 3),
                    }
                    log(f"store down at t={down['start']:.1f}s")
                if down is not None and now - t0 >= down["planned_end"]:
                    store.up()
                    down["end"] = round(time.monotonic() - t0, 2)
                    self.outages.append(down)
                    log(f"store back at t={down['end']:.1f}s")
                    down = None
                if now >= next_sample:
                    self.sample(gateway, t0, spool)
                    next_sample += self.o.sample_interval
                time.sleep(0.1)
        finally:
            if down is not None:
                store.up()
                down["end"] = round(time.monotonic() - t0, 2)
                self.outages.append(down)


def wait_drained(
    store: SoakStore, seen: set[str], spool: Path, deadline_s: float
) -> dict[str, Any]:
    """Poll until every id a client saw is stored and the spool is empty, or the deadline."""
    start = time.monotonic()
    missing: set[str] = set(seen)
    count = -1
    while True:
        rows = store.rows()
        files, _ = spool_usage(spool)
        if rows is not None:
            count = len(rows)
            missing = seen - {r.id for r in rows}
        if rows is not None and not missing and files == 0:
            break
        if time.monotonic() - start > deadline_s:
            break
        time.sleep(1.0)
    return {
        "wait_s": round(time.monotonic() - start, 2),
        "records": count,
        "missing": len(missing),
        "spool_files": spool_usage(spool)[0],
    }


def gateway_log_summary(text: str) -> dict[str, Any]:
    """Tracebacks and error lines the gateway printed, grouped by their last line."""
    kinds: Counter[str] = Counter()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            kinds[lines[j][:200] if j < len(lines) else "?"] += 1
    errors: Counter[str] = Counter()
    for line in lines:
        if line.startswith(("ERROR", "CRITICAL")):
            errors[re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "<id>", line)[:200]] += 1
    warnings = sum(1 for line in lines if line.startswith("WARNING"))
    return {
        "tracebacks": sum(kinds.values()),
        "traceback_kinds": dict(kinds.most_common(10)),
        "error_lines": sum(errors.values()),
        "error_kinds": dict(errors.most_common(10)),
        "warning_lines": warnings,
    }


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(o: Options) -> int:
    plan = make_plan(o.duration, o.period, o.fault_s, o.store_down_s)
    # Children run in other directories (`keys create` in the work dir): a relative
    # PYTHONPATH such as `src` would silently import another copy of the gateway.
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(
        dict.fromkeys([*(str(Path(p).resolve()) for p in parts), str(ROOT)])
    )
    # The default runs the CLI through bench/soakgateway.py for its memory sampler;
    # --relayscope-cmd runs exactly what it says (RSS only).
    cmd = (
        relayscope_command(o.relayscope_cmd)
        if o.relayscope_cmd
        else [sys.executable, "-m", "bench.soakgateway"]
    )
    reason = check_relayscope(cmd)
    if reason:
        log(reason)
        return 2
    psql = shutil.which("psql")
    if o.store == "postgres" and not psql:
        log("--store postgres needs psql on PATH")
        return 2
    facts = meta.collect(Tools(relayscope=cmd))
    load_before = os.getloadavg()
    with output.workdir("relayscope-soak-", o.keep_workdir, log) as workdir:
        spool = workdir / "data" / "spool"
        soak = Soak(o, plan, workdir)
        result: dict[str, Any] = {}
        try:
            with ExitStack() as stack:
                store: SoakStore
                if o.store == "postgres":
                    assert psql
                    store = PostgresStore(psql, stack)
                else:
                    store = SqliteStore(workdir / "data" / "relayscope.db")
                stack.callback(store.up)
                _fake, fake_url = start_fake(stack, workdir, o.chunk_delay_ms)
                gateway, port, key, _env = start_gateway(stack, workdir, cmd, store, fake_url, o)
                started = datetime.now(UTC)
                probe_ids = probe(port, key)
                idle_rss = tree_rss_mib(gateway.pid)
                plan_file = workdir / "plan.json"
                plan_file.write_text(plan.to_json())
                out = workdir / "requests.jsonl"
                t0 = time.monotonic() + 3.0
                argv = [
                    sys.executable,
                    "-m",
                    "bench.soakload",
                    "--port",
                    str(port),
                    "--key",
                    key,
                    "--plan",
                    str(plan_file),
                    "--out",
                    str(out),
                    "--t0",
                    repr(t0),
                    "--rate",
                    str(o.rate),
                    "--stream-share",
                    str(o.stream_share),
                    "--anthropic-share",
                    str(o.anthropic_share),
                    "--fault-share",
                    str(o.fault_share),
                    "--max-in-flight",
                    str(o.max_in_flight),
                    "--request-timeout",
                    str(o.request_timeout),
                    "--seed",
                    str(o.seed),
                ]
                log(
                    f"{o.duration:.0f}s at {o.rate:g} req/s, store {store.kind}, "
                    f"{len(plan.windows)} windows of {plan.period:g}s slots; work dir {workdir}"
                )
                load = _launch(stack, "soakload", argv, workdir)
                soak.drive(gateway, load, store, t0, spool)
                if load.alive():
                    log("load process overran its deadline; stopping it")
                    load.stop()
                load.proc.wait(timeout=60)
                load_summary = _bench_json(load.output())
                rows = read_rows(out)
                all_ids = {r["rid"] for r in rows} | set(probe_ids)
                seen = {r["hid"] for r in rows if r.get("hid")} | set(probe_ids)
                drained: dict[str, Any] = {}
                api: dict[str, Any] | None = None
                if soak.crash is None and gateway.alive():
                    log(f"load done ({len(rows)} requests); waiting for the log queue and spool")
                    drained = wait_drained(store, seen, spool, o.drain_deadline)
                    soak.sample(gateway, t0, spool)
                    api = read_api(port, key, started)
                else:
                    soak.crash = soak.crash or f"gateway exited with {gateway.returncode}"
                live_rows = store.rows() or []
                gateway.stop(timeout=40)
                exit_code = gateway.returncode
                final_rows = store.rows() or []
                gateway_log = gateway_log_summary(gateway.log_path.read_text(errors="replace"))
                result = soakreport.build(
                    options=o,
                    plan=plan,
                    facts=facts,
                    rows=rows,
                    load_summary=load_summary,
                    seen=seen,
                    all_ids=all_ids,
                    probe_ids=probe_ids,
                    live_rows=live_rows,
                    final_rows=final_rows,
                    drained=drained,
                    samples=soak.samples,
                    idle_rss=idle_rss,
                    outages=soak.outages,
                    crash=soak.crash,
                    exit_code=exit_code,
                    gateway_log=gateway_log,
                    store_kind=store.kind,
                    loadavg=(load_before, os.getloadavg()),
                    api=api,
                )
        except (StartError, OSError) as exc:
            log(f"soak failed: {exc}{_log_tails(workdir)}"[-4000:])
            return 1
    json_path, md_path = soakreport.write(result, o.results_dir)
    print()
    print(md_path.read_text())
    log(f"wrote {json_path} and {md_path}")
    return 0 if result["verdict"]["pass"] else 1


def _bench_json(text: str) -> dict[str, Any]:
    return aio.result_line(text) or {"error": text[-2000:]}


def _log_tails(workdir: Path) -> str:
    return "".join(f"\n--- {p.name} ---\n{tail(p, 1500)}" for p in sorted(workdir.glob("*.log")))


def parse(argv: list[str] | None) -> Options:
    ap = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description="Soak RelayScope: steady load, faults on a schedule, no record lost.",
    )
    ap.add_argument("--duration", type=float, default=600.0, help="seconds of load (default 600)")
    ap.add_argument("--rate", type=float, default=100.0, help="requests per second (default 100)")
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--fault-period", type=float, help="seconds per fault slot (default: auto)")
    ap.add_argument("--fault-seconds", type=float, help="length of each request fault")
    ap.add_argument("--store-down-seconds", type=float, help="length of each store outage")
    ap.add_argument("--client-body-timeout", type=float, default=2.0)
    ap.add_argument("--chunk-delay-ms", type=float, default=5.0, help="fake provider SSE gap")
    ap.add_argument("--stream-share", type=float, default=0.3)
    ap.add_argument("--anthropic-share", type=float, default=0.5)
    ap.add_argument("--fault-share", type=float, default=0.3, help="share hit by a fault")
    ap.add_argument("--max-in-flight", type=int, default=1000)
    ap.add_argument("--request-timeout", type=float, default=30.0, help="per request, client side")
    ap.add_argument("--sample-interval", type=float, default=5.0)
    ap.add_argument("--drain-deadline", type=float, default=180.0)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--relayscope-cmd", help="command that runs the gateway CLI")
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    ap.add_argument("--keep-workdir", action="store_true")
    a = ap.parse_args(argv)
    if a.duration <= 0 or a.rate <= 0:
        ap.error("--duration and --rate must be positive")
    return Options(
        duration=a.duration,
        rate=a.rate,
        store=a.store,
        period=a.fault_period,
        fault_s=a.fault_seconds,
        store_down_s=a.store_down_seconds,
        client_body_timeout=a.client_body_timeout,
        chunk_delay_ms=a.chunk_delay_ms,
        stream_share=a.stream_share,
        anthropic_share=a.anthropic_share,
        fault_share=a.fault_share,
        max_in_flight=a.max_in_flight,
        request_timeout=a.request_timeout,
        sample_interval=a.sample_interval,
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
