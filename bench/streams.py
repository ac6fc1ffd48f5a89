"""`python -m bench.streams`: thousands of concurrent streams through each target.

Most LLM traffic is streams open for seconds, idle between tokens. For each size in
``--streams`` (default 1,000, 2,000 and 5,000) and each target, one load process
(``bench/streamload.py``) opens that many streamed chats at once; the bench upstream
(``bench/upstream.py``) answers each with ``--chunks`` SSE events ``--chunk-delay-ms``
apart (60 at 50 ms: a model at about 20 tokens a second). The gateway is pinned to
one core (``taskset``, every thread of its process tree), the upstream and the load
to the other, so the figures measure the gateway.

Targets, side by side: ``direct`` (the floor), ``nginx`` (when installed),
``relayscope`` (1 worker), ``relayscope-w2`` (``--workers 2``) and ``portkey`` (the
Portkey gateway from the npm registry, installed into ``bench/.cache/portkey``).

Figures per size and target: TTFT and its overhead over ``direct`` (P50, P99), the
stream-duration stretch (P50 through the target / direct - 1), chunks per second
per worker, the gateway's CPU µs per chunk (and so the chunks one core could carry
at saturation), RSS per open stream (peak minus idle), refusals and errors, and for
RelayScope the records lost, by id. Results: ``streams.json`` and ``streams.md`` in
``--results-dir``, and one line appended to ``streams-history.jsonl`` with the
machine's calibration figure (the upstream's CPU µs per chunk in the direct run)
and the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import aio, ids, meta, output
from bench.gateway import launch
from bench.load import BENCH_DIR, ROOT
from bench.procs import (
    HOST,
    Managed,
    StartError,
    cpu_seconds,
    exit_on_sigterm,
    free_port,
    http_ready,
    tcp_ready,
    tree_cpu_seconds,
    tree_pids,
    tree_rss_mib,
    wait_until,
)
from bench.provision import Tools, check_relayscope, relayscope_command
from bench.streamreport import judge, markdown
from bench.targets import Context, RelayScope, start_nginx

TARGETS = ("direct", "nginx", "relayscope", "relayscope-w2", "portkey")
PORTKEY_DIR = BENCH_DIR / ".cache" / "portkey"
PORTKEY_PACKAGE = {
    "private": True,
    "dependencies": {"@portkey-ai/gateway": "^1.15.2"},
    # Later @hono/node-server releases fail every Portkey response on Node
    # (Portkey-AI/gateway issue 1389).
    "overrides": {"@hono/node-server": "1.14.2"},
}
PORTKEY_SHIM = BENCH_DIR / "portkey_fetch.mjs"
HISTORY = "streams-history.jsonl"


def log(message: str) -> None:
    print(f"[streams] {message}", flush=True)


@dataclass
class Options:
    sizes: list[int]
    chunks: int
    chunk_delay_ms: float
    targets: list[str]
    gateway_core: str
    load_core: str
    budget_s: float
    results_dir: Path
    keep_workdir: bool
    relayscope_cmd: str | None
    skip_setup: bool
    warmup_streams: int = 20


@dataclass
class Target:
    name: str
    port: int
    path: str
    headers: dict[str, str]
    pid: int | None
    """The gateway's process (tree): its CPU and RSS are measured; None for direct."""
    workers: int = 1
    stored_ids: Any = None
    notes: list[str] = field(default_factory=list)


def pin(pid: int, core: str) -> None:
    """Every thread of ``pid``'s process tree onto ``core``."""
    for child in tree_pids(pid):
        subprocess.run(
            ["taskset", "-a", "-cp", core, str(child)],
            capture_output=True,
            check=False,
            timeout=10,
        )


def portkey_install(skip_setup: bool) -> tuple[list[str] | None, str]:
    """The command that starts the Portkey gateway, installing it first if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None:
        return None, "node not installed"
    server = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
    if not server.exists():
        if skip_setup or npm is None:
            return None, "not installed (npm missing or --skip-setup)"
        PORTKEY_DIR.mkdir(parents=True, exist_ok=True)
        (PORTKEY_DIR / "package.json").write_text(json.dumps(PORTKEY_PACKAGE, indent=2))
        log("installing @portkey-ai/gateway into bench/.cache/portkey")
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=PORTKEY_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0 or not server.exists():
            return None, f"npm install failed: {(done.stdout + done.stderr)[-500:]}"
    return [node, "--import", str(PORTKEY_SHIM), str(server)], ""


def portkey_version() -> str | None:
    package = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "package.json"
    with contextlib.suppress(OSError, ValueError):
        return str(json.loads(package.read_text())["version"])
    return None


@contextlib.contextmanager
def upstream(o: Options, workdir: Path) -> Iterator[Context]:
    port = free_port()
    argv = ["taskset", "-c", o.load_core, sys.executable, "-m", "bench.upstream"]
    argv += ["--host", HOST, "--port", str(port), "--chunk-delay-ms", str(o.chunk_delay_ms)]
    argv += ["--stream-chunks", str(o.chunks)]
    proc = Managed("upstream", argv, workdir / "upstream.log", cwd=ROOT)
    try:
        wait_until(http_ready(f"http://{HOST}:{port}/healthz"), 30, "the upstream", proc)
        yield Context(tools=Tools(), upstream_port=port, upstream_pid=proc.pid)
    finally:
        proc.stop()


def start(
    name: str, o: Options, ctx: Context, tools: Tools, rundir: Path, stack: ExitStack
) -> Target:
    auth = {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"}
    if name == "direct":
        return Target(name, ctx.upstream_port, "/v1/chat/completions", auth, None)
    if name == "nginx":
        port, proc, _ = start_nginx(
            Context(tools, ctx.upstream_port, ctx.upstream_pid), rundir, stack, [ctx.upstream_port]
        )
        pin(proc.pid, o.gateway_core)
        return Target(name, port, "/v1/chat/completions", auth, proc.pid)
    if name == "portkey":
        command, _ = portkey_install(o.skip_setup)
        assert command is not None
        port = free_port()
        env = {**os.environ, "NODE_ENV": "production"}
        proc = launch(stack, "portkey", [*command, f"--port={port}", "--headless"], rundir, env)
        wait_until(tcp_ready(HOST, port), 60, "the Portkey gateway to listen", proc)
        pin(proc.pid, o.gateway_core)
        headers = {
            **auth,
            "x-portkey-provider": "openai",
            "x-portkey-custom-host": f"http://{HOST}:{ctx.upstream_port}/v1",
        }
        return Target(name, port, "/v1/chat/completions", headers, proc.pid)
    workers = 2 if name == "relayscope-w2" else 1
    running = RelayScope(name, workers=workers).start(
        Context(tools, ctx.upstream_port, ctx.upstream_pid), rundir, stack
    )
    assert running.rss_pid is not None
    pin(running.rss_pid, o.gateway_core)
    endpoint = running.endpoint
    return Target(
        name,
        endpoint.port,
        endpoint.path,
        dict(endpoint.headers),
        running.rss_pid,
        workers=workers,
        stored_ids=running.stored_ids,
    )


def measure(target: Target, streams: int, o: Options, ctx: Context, rundir: Path) -> dict[str, Any]:
    """One size through one started target."""
    timeout = o.chunks * o.chunk_delay_ms / 1000 + 60
    ids_file = rundir / "ids" / f"{target.name}-{streams}.ids"
    ids_file.parent.mkdir(parents=True, exist_ok=True)
    argv = ["taskset", "-c", o.load_core, sys.executable, "-m", "bench.streamload"]
    argv += ["--host", HOST, "--port", str(target.port), "--path", target.path]
    argv += ["--headers", json.dumps(target.headers), "--streams", str(streams)]
    argv += ["--timeout", str(timeout), "--ids-file", str(ids_file)]
    pid = target.pid
    if o.warmup_streams:  # connections, caches and lazy imports, out of the figures
        warm = [*argv[: argv.index("--streams")], "--streams", str(o.warmup_streams)]
        warm += ["--timeout", str(timeout)]
        warming = Managed(f"warmup-{target.name}", warm, rundir / "warmup.log", cwd=ROOT)
        try:
            warming.proc.wait(timeout)
        finally:
            warming.stop()
    idle_rss = tree_rss_mib(pid) if pid else None
    cpu0 = tree_cpu_seconds(pid) if pid else 0.0
    upstream_cpu0 = cpu_seconds(ctx.upstream_pid)
    peak = idle_rss or 0.0
    load = Managed(f"load-{target.name}-{streams}", argv, rundir / f"load-{streams}.log", cwd=ROOT)
    deadline = time.monotonic() + timeout + 30
    try:
        while load.alive() and time.monotonic() < deadline:
            if pid:
                peak = max(peak, tree_rss_mib(pid))
            time.sleep(0.2)
    finally:
        load.stop()
    cpu = tree_cpu_seconds(pid) - cpu0 if pid else None
    upstream_cpu = cpu_seconds(ctx.upstream_pid) - upstream_cpu0
    text = load.log_path.read_text(errors="replace")
    result = aio.result_line(text)
    if result is None:
        raise StartError(f"the load for {target.name} gave no result:\n{text[-2000:]}")
    events = result["events"] or 0
    row: dict[str, Any] = {
        "target": target.name,
        "streams": streams,
        "workers": target.workers,
        **result,
        "upstream_cpu_us_per_chunk": round(upstream_cpu * 1e6 / events, 2) if events else None,
    }
    if pid and cpu is not None and events:
        row["cpu_us_per_chunk"] = round(cpu * 1e6 / events, 2)
        row["capacity_chunks_per_s_per_core"] = round(events / cpu) if cpu else None
        row["chunks_per_s_per_worker"] = round(events / result["wall_s"] / target.workers)
        row["idle_rss_mib"] = round(idle_rss or 0.0, 1)
        row["peak_rss_mib"] = round(peak, 1)
        row["rss_kib_per_stream"] = round((peak - (idle_rss or 0.0)) * 1024 / streams, 1)
    if target.stored_ids is not None:
        answered = set(ids_file.read_text().split())
        row["records"] = ids.lost_by_id(answered, target.stored_ids, deadline_s=60)
    return row


def run(o: Options) -> int:
    tools = Tools(nginx=shutil.which("nginx"))
    skipped: dict[str, str] = {}
    if any(t.startswith("relayscope") for t in o.targets):
        cmd = relayscope_command(o.relayscope_cmd)
        reason = check_relayscope(cmd)
        if reason:
            skipped.update({t: reason for t in o.targets if t.startswith("relayscope")})
        else:
            tools.relayscope = cmd
    if "nginx" in o.targets and not tools.nginx:
        skipped["nginx"] = "nginx is not installed on this machine"
    if "portkey" in o.targets:
        command, reason = portkey_install(o.skip_setup)
        if command is None:
            skipped["portkey"] = reason
    if shutil.which("taskset") is None:
        log("taskset not found: nothing can be pinned")
        return 2
    targets = ["direct", *[t for t in o.targets if t != "direct" and t not in skipped]]
    facts = meta.collect(tools)
    facts["versions"]["portkey"] = portkey_version()
    loadavg_before = os.getloadavg()
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    out_of_time: list[str] = []
    with output.workdir("relayscope-streams-", o.keep_workdir, log) as workdir:
        for size in o.sizes:
            # A fresh upstream per size: its per-chunk timers from one size never
            # overlap the next.
            with upstream(o, workdir) as ctx:
                for name in targets:
                    if time.monotonic() - started > o.budget_s:
                        out_of_time.append(f"{name} at {size}")
                        continue
                    rundir = workdir / f"{name}-{size}"
                    rundir.mkdir(parents=True, exist_ok=True)
                    log(f"{size} streams through {name}")
                    try:
                        with ExitStack() as stack:
                            target = start(name, o, ctx, tools, rundir, stack)
                            rows.append(measure(target, size, o, ctx, rundir))
                    except (StartError, OSError, subprocess.SubprocessError) as exc:
                        log(f"{name} at {size} failed: {exc}"[-2000:])
                        rows.append({"target": name, "streams": size, "failed": str(exc)[-500:]})
    result: dict[str, Any] = {
        "meta": facts,
        "config": {
            "sizes": o.sizes,
            "chunks": o.chunks,
            "chunk_delay_ms": o.chunk_delay_ms,
            "targets": targets,
            "skipped": skipped,
            "out_of_time": out_of_time,
            "gateway_core": o.gateway_core,
            "load_core": o.load_core,
            "loadavg_before": loadavg_before,
            "loadavg_after": os.getloadavg(),
            "duration_s": round(time.monotonic() - started, 1),
        },
        "rows": rows,
    }
    result["calibration_us"] = calibration_us(rows)
    result["goals"] = judge(rows)
    text = markdown(result)
    json_path, md_path = output.write(o.results_dir, "streams", result, text)
    append_history(result, o.results_dir)
    print(text)
    log(f"wrote {json_path}, {md_path} and a line of {HISTORY}")
    return 0


def calibration_us(rows: list[dict[str, Any]]) -> float | None:
    """The upstream's CPU µs per chunk while serving the direct runs (the machine's pace)."""
    values = [
        r["upstream_cpu_us_per_chunk"]
        for r in rows
        if r.get("target") == "direct" and r.get("upstream_cpu_us_per_chunk")
    ]
    return round(sorted(values)[len(values) // 2], 2) if values else None


def append_history(result: dict[str, Any], results_dir: Path) -> None:
    gateway = result["meta"]["versions"].get("relayscope") or {}
    line = {
        "timestamp": result["meta"]["timestamp"],
        "commit": gateway.get("commit"),
        "calibration_us": result["calibration_us"],
        "loadavg_before": result["config"]["loadavg_before"],
        "loadavg_after": result["config"]["loadavg_after"],
        "config": {k: result["config"][k] for k in ("sizes", "chunks", "chunk_delay_ms")},
        "rows": [
            {k: v for k, v in row.items() if k not in ("statuses", "errors")}
            for row in result["rows"]
        ],
        "goals": [{k: g[k] for k in ("goal", "value", "status")} for g in result["goals"]],
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    with (results_dir / HISTORY).open("a") as out:
        out.write(json.dumps(line, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--streams", default="1000,2000,5000", help="concurrent streams per run")
    ap.add_argument("--chunks", type=int, default=60, help="SSE events per stream")
    ap.add_argument("--chunk-delay-ms", type=float, default=50.0)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--gateway-core", default="0")
    ap.add_argument("--load-core", default="1", help="the upstream's and the load's core")
    ap.add_argument(
        "--max-minutes", type=float, default=20.0, help="runs left when this has passed are skipped"
    )
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    ap.add_argument("--keep-workdir", action="store_true")
    ap.add_argument("--relayscope-cmd")
    ap.add_argument("--skip-setup", action="store_true", help="install nothing (Portkey)")
    ap.add_argument("--warmup-streams", type=int, default=20, help="streams sent before measuring")
    args = ap.parse_args(argv)
    unknown = set(args.targets.split(",")) - set(TARGETS)
    if unknown:
        ap.error(f"unknown targets: {', '.join(sorted(unknown))}")
    exit_on_sigterm()
    return run(
        Options(
            sizes=[int(s) for s in args.streams.split(",") if s],
            chunks=args.chunks,
            chunk_delay_ms=args.chunk_delay_ms,
            targets=args.targets.split(","),
            gateway_core=args.gateway_core,
            load_core=args.load_core,
            budget_s=args.max_minutes * 60,
            results_dir=args.results_dir,
            keep_workdir=args.keep_workdir,
            relayscope_cmd=args.relayscope_cmd,
            skip_setup=args.skip_setup,
            warmup_streams=args.warmup_streams,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
