"""Orchestration: upstream, interleaved repeats over the targets, records check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import baseline, history, meta, output, provision, report
from bench.http1 import BlockingConnection, Endpoint, build_request
from bench.ids import ID_HEADER, lost_by_id, read_answered
from bench.load import ROOT, LoadError, LoadGenerator, LoadSpec, run_ttfb
from bench.procs import (
    HOST,
    Managed,
    StartError,
    free_port,
    http_ready,
    tail,
    tree_cpu_seconds,
    tree_rss_mib,
    wait_until,
)
from bench.targets import Context, RelayScope, Running, Target, all_targets

REQUEST = b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
STREAM_REQUEST = (
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}],'
    b'"stream":true,"stream_options":{"include_usage":true}}'
)

RESPONSES_STREAM_REQUEST = b'{"model":"gpt-4o-mini","input":"Say hello.","stream":true}'
CHAT_SUFFIX = "chat/completions"


@dataclass
class Options:
    targets: list[str]
    repeats: int
    duration_s: float
    warmup_s: float
    threads: int
    connections: int
    ttfb_requests: int
    records_deadline_s: float
    chunk_delay_ms: float
    install: bool
    load_generator: str
    relayscope_cmd: str | None
    results_dir: Path
    keep_workdir: bool
    profile: bool
    profile_target: str
    profile_all_threads: bool
    ingest_records: int = 0
    baseline: str | None = None
    """A git ref whose gateway is measured in the same run (``bench.baseline``)."""


@dataclass
class Bodies:
    plain: Path
    stream: Path
    responses_stream: Path | None = None


def responses_endpoint(endpoint: Endpoint) -> Endpoint | None:
    """The same target's Responses API route (None when its path is not a chat one)."""
    path, _, query = endpoint.path.partition("?")
    if not path.endswith(CHAT_SUFFIX):
        return None
    path = path.removesuffix(CHAT_SUFFIX) + "responses"
    return Endpoint(
        endpoint.host, endpoint.port, path + (f"?{query}" if query else ""), endpoint.headers
    )


def log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def probe(endpoint: Endpoint, ids_dir: Path | None = None) -> None:
    """One request that must succeed before a target is measured."""
    conn = BlockingConnection(endpoint.host, endpoint.port, timeout=30)
    try:
        raw = build_request(endpoint.host, endpoint.port, endpoint.path, endpoint.headers, REQUEST)
        r = conn.request(raw)
    except OSError as exc:
        raise StartError(f"probe request failed: {exc}") from exc
    finally:
        conn.close()
    if r.status != 200 or b'"choices"' not in r.body:
        raise StartError(f"probe request got HTTP {r.status}: {r.body[:300]!r}")
    if ids_dir is not None and ID_HEADER in r.headers:
        (ids_dir / "probe.ids").write_text(r.headers[ID_HEADER] + "\n")


def upstream_completions(port: int) -> int:
    with urllib.request.urlopen(f"http://{HOST}:{port}/stats", timeout=5) as resp:
        return int(json.loads(resp.read())["completions"])


def wait_records(
    count: Callable[[], int | None],
    forwarded: Callable[[], int],
    completed: int,
    deadline_s: float,
    settle_s: float = 5.0,
) -> dict[str, Any]:
    """Poll the store until it holds a row per request, stops changing, or the deadline.

    The expected count is what the upstream saw from this target (exact, and it
    includes requests wrk abandoned in flight when its duration ended), or what
    the clients completed if that is larger. These totals are for the report only:
    losses are counted by id (``bench.ids.lost_by_id``), since a request abandoned
    in flight is still logged and would hide a lost one from any count.
    """
    start = last_change = time.monotonic()
    last: int | None = None
    expected = completed
    while True:
        n = count()
        expected = max(forwarded(), completed)
        now = time.monotonic()
        if n != last:
            last, last_change = n, now
        if n is not None and n >= expected and now - last_change >= 0.5:
            break
        if now - last_change >= settle_s or now - start >= deadline_s:
            break
        time.sleep(0.2)
    records = last or 0
    return {
        "records": last,
        "requests": expected,
        "client_completed": completed,
        "short": max(0, expected - records),
        "extra": max(0, records - expected),
        "wait_s": round(time.monotonic() - start, 2),
    }


@contextmanager
def upstream(chunk_delay_ms: float, workdir: Path, tools: provision.Tools) -> Iterator[Context]:
    """The bench upstream (``bench/upstream.py``) on a free port, stopped on exit."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "bench.upstream",
        "--host",
        HOST,
        "--port",
        str(port),
        "--chunk-delay-ms",
        str(chunk_delay_ms),
    ]
    proc = Managed("upstream", argv, workdir / "upstream.log", cwd=ROOT)
    try:
        wait_until(http_ready(f"http://{HOST}:{port}/healthz"), 30, "the upstream", proc)
        yield Context(tools=tools, upstream_port=port, upstream_pid=proc.pid)
    finally:
        proc.stop()


def measure(
    target: Target, ctx: Context, gen: LoadGenerator, bodies: Bodies, opts: Options, rundir: Path
) -> dict[str, Any]:
    rundir.mkdir(parents=True, exist_ok=True)
    base = upstream_completions(ctx.upstream_port)
    with ExitStack() as stack:
        running: Running = target.start(ctx, rundir, stack)
        ep = running.endpoint
        ids_dir: Path | None = None
        if running.stored_ids is not None:
            ids_dir = rundir / "ids"
            ids_dir.mkdir()

        def ids(phase: str) -> Path | None:
            return ids_dir / phase if ids_dir is not None else None

        probe(ep, ids_dir)
        sent = 1
        warm = gen.run(ep, bodies.plain, LoadSpec(1, 4, opts.warmup_s), ids("warmup"))
        unloaded = gen.run(ep, bodies.plain, LoadSpec(1, 1, opts.duration_s), ids("unloaded"))
        cpu_pids = [running.rss_pid, *running.extra_rss_pids] if running.rss_pid else []
        cpu_before = sum(tree_cpu_seconds(pid) for pid in cpu_pids)
        saturated = gen.run(
            ep,
            bodies.plain,
            LoadSpec(opts.threads, opts.connections, opts.duration_s),
            ids("saturated"),
        )
        cpu_used = sum(tree_cpu_seconds(pid) for pid in cpu_pids) - cpu_before
        rss = tree_rss_mib(running.rss_pid) if running.rss_pid else None
        if rss is not None:
            rss += sum(tree_rss_mib(pid) for pid in running.extra_rss_pids)
        ttfb = run_ttfb(
            ep,
            bodies.stream,
            opts.ttfb_requests,
            max(30.0, opts.duration_s * 3),
            ids("ttfb"),
        )
        sent += warm.requests + unloaded.requests + saturated.requests + int(ttfb["sent"])
        # The Responses API's stream, right after the chat one on the same target.
        responses_ep = responses_endpoint(ep)
        responses_ttfb = None
        if responses_ep is not None and bodies.responses_stream is not None:
            responses_ttfb = run_ttfb(
                responses_ep,
                bodies.responses_stream,
                opts.ttfb_requests,
                max(30.0, opts.duration_s * 3),
                done_marker="response.completed",
            )
            sent += int(responses_ttfb["sent"])
        result: dict[str, Any] = {
            "startup_s": round(running.startup_s, 2),
            "unloaded": unloaded.as_dict(),
            "saturated": saturated.as_dict(),
            "warmup_requests": warm.requests,
            "ttfb": ttfb,
            "responses_ttfb": responses_ttfb,
            "rss_mib": rss,
            "cpu_us_per_request": (
                round(cpu_used * 1e6 / saturated.requests, 1)
                if cpu_pids and saturated.requests
                else None
            ),
        }
        if running.count_records is not None:
            result["records"] = wait_records(
                running.count_records,
                lambda: upstream_completions(ctx.upstream_port) - base,
                sent,
                opts.records_deadline_s,
            )
        if running.stored_ids is not None and ids_dir is not None:
            by_id = lost_by_id(read_answered(ids_dir), running.stored_ids, opts.records_deadline_s)
            result.setdefault("records", {}).update(by_id)
        return result


def _brief(run: dict[str, Any]) -> str:
    u, s, t = run["unloaded"], run["saturated"], run["ttfb"]
    text = (
        f"unloaded p50/p99 {u['p50_ms']:.3f}/{u['p99_ms']:.3f} ms, "
        f"saturated {s['rps']:,.0f} req/s (p99 {s['p99_ms']:.2f} ms), "
        f"ttfb p50 {t.get('ttfb_p50_ms') or float('nan'):.3f} ms, "
        f"rss {run['rss_mib'] or 0:.0f} MiB, "
        f"cpu {run['cpu_us_per_request'] or 0:.0f} us/req, "
        f"errors {u['errors'] + s['errors'] + t['errors']}"
    )
    if "records" in run:
        r = run["records"]
        text += (
            f", records {r.get('records')}/{r.get('requests')}, "
            f"{r.get('answered_2xx')} answered ids, lost {r.get('lost')} by id"
        )
    return text


def _log_tails(rundir: Path) -> str:
    """Last lines of every process log of a failed run (the temp dir is removed later)."""
    tails = [f"\n--- {p.name} ---\n{tail(p, 1500)}" for p in sorted(rundir.glob("*.log"))]
    return "".join(tails)


def run_ingest_phase(opts: Options) -> dict[str, Any] | None:
    """Postgres log-ingestion micro-benchmark (bench/ingest.py), after the targets."""
    if opts.ingest_records <= 0:
        return None
    from bench.ingest import DEFAULT_BATCH, run_ingest

    log(f"log ingestion into PostgreSQL: {opts.ingest_records} records, batches of 500 ...")
    try:
        result = run_ingest(opts.ingest_records, DEFAULT_BATCH)
    except Exception as exc:  # reported, never fatal: the targets' figures still stand
        log(f"ingestion benchmark failed: {exc}")
        return {"error": str(exc)[:600]}
    log(f"  ingestion: {result['records_per_s']:,.0f} records/s, lost {result['lost']}")
    return result


def order_for(repeat: int, names: list[str]) -> list[str]:
    """`direct` first (the same-repeat baseline), the rest rotated per repeat."""
    rest = [n for n in names if n != "direct"]
    k = repeat % len(rest) if rest else 0
    return (["direct"] if "direct" in names else []) + rest[k:] + rest[:k]


def run(opts: Options) -> int:
    catalog = all_targets()
    unknown = [t for t in opts.targets if t not in catalog]
    if unknown:
        log(f"unknown target(s) {unknown}; known: {', '.join(catalog)}")
        return 2
    names = list(dict.fromkeys(["direct", *opts.targets]))
    base: baseline.Baseline | None = None
    if opts.baseline:
        try:
            base = baseline.unpack(opts.baseline)
        except baseline.BaselineError as exc:
            log(f"--baseline {opts.baseline}: {exc}")
            return 2
        log(f"baseline: {opts.baseline} = {base.commit[:12]}, run as {baseline.NAME}")
        target = RelayScope(baseline.NAME, command=base.command)
        target.description += f", the code at {base.short} (--baseline {base.ref})"
        catalog[baseline.NAME] = target
        names.append(baseline.NAME)
    if "direct" not in opts.targets:
        log("adding `direct`: overheads are measured against it")
    want = set(names) | ({opts.profile_target} if opts.profile else set())
    tools = provision.prepare(
        opts.install, want, opts.relayscope_cmd, opts.load_generator == "python", opts.profile
    )
    if opts.load_generator == "wrk" and not tools.wrk:
        log("--load-generator wrk requested but wrk is not available")
        return 2
    gen = LoadGenerator(tools.wrk)
    for key, note in tools.notes.items():
        if key not in names:
            log(note)
    skipped: dict[str, str] = {}
    for name in names:
        reason = catalog[name].skip_reason(tools)
        if reason:
            skipped[name] = reason
            log(f"skipping {name}: {reason}")

    load_before = os.getloadavg()
    facts = meta.collect(tools)
    if base is not None:
        facts["baseline"] = {"ref": base.ref, "commit": base.commit}
    runs: list[dict[str, Any]] = []
    with (
        output.workdir("relayscope-bench-", opts.keep_workdir, log) as workdir,
        upstream(opts.chunk_delay_ms, workdir, tools) as ctx,
    ):
        bodies = Bodies(
            workdir / "request.json",
            workdir / "stream-request.json",
            workdir / "responses-stream-request.json",
        )
        bodies.plain.write_bytes(REQUEST)
        bodies.stream.write_bytes(STREAM_REQUEST)
        assert bodies.responses_stream is not None
        bodies.responses_stream.write_bytes(RESPONSES_STREAM_REQUEST)
        if opts.profile:
            from bench.profile import profile

            return profile(catalog[opts.profile_target], ctx, gen, bodies, opts, workdir)
        for repeat in range(opts.repeats):
            for name in order_for(repeat, [n for n in names if n not in skipped]):
                if name in skipped:
                    continue
                log(f"repeat {repeat + 1}/{opts.repeats}: {name} ...")
                rundir = workdir / f"{name}-{repeat}"
                try:
                    result = measure(catalog[name], ctx, gen, bodies, opts, rundir)
                except (StartError, LoadError, OSError, subprocess.SubprocessError) as exc:
                    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
                    short = " | ".join(dict.fromkeys([*lines[:1], *lines[-1:]]))
                    detail = f"{exc}{_log_tails(rundir)}"
                    log(f"{name} failed: {detail[-3000:]}")
                    if not any(r["target"] == name and "error" not in r for r in runs):
                        skipped[name] = f"failed to run: {short[:600]}"
                    else:
                        runs.append({"target": name, "repeat": repeat, "error": detail})
                    continue
                runs.append({"target": name, "repeat": repeat, **result})
                log(f"  {name}: {_brief(result)}")

    config = {
        "repeats": opts.repeats,
        "duration_s": opts.duration_s,
        "warmup_s": opts.warmup_s,
        "threads": opts.threads,
        "connections": opts.connections,
        "ttfb_requests": opts.ttfb_requests,
        "upstream_chunk_delay_ms": opts.chunk_delay_ms,
        "load_generator": gen.tool,
        "targets": names,
        "cores": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    ingest = run_ingest_phase(opts)
    descriptions = {n: catalog[n].description for n in catalog}
    facts["relayscope_after"] = meta.relayscope_info(tools.relayscope)
    result = report.build(facts, config, runs, skipped, descriptions, ingest=ingest)
    result["history"] = history.record(result, opts.results_dir)
    json_path, md_path = report.write(result, opts.results_dir)
    print()
    print(md_path.read_text())
    log(f"wrote {json_path} and {md_path}")
    return 0 if any("error" not in r for r in runs) else 1
