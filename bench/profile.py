"""--profile: sample a target under saturated load with py-spy and list the top frames."""

from __future__ import annotations

import re
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from bench.load import LoadGenerator, LoadSpec
from bench.procs import Managed, wait_until

if TYPE_CHECKING:
    from bench.run import Bodies, Options
    from bench.targets import Context, Target

LINE_NO = re.compile(r":\d+\)$")
TOP_N = 25


def _log(msg: str) -> None:
    print(f"[profile] {msg}", flush=True)


def top_frames(collapsed: Path, focus: str) -> str:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = [
            LINE_NO.sub(")", f)
            for f in stack.split(";")
            if not f.startswith(("process ", "thread "))
        ]
        if not frames:
            continue
        own[frames[-1]] += count
        for f in set(frames):
            incl[f] += count
    if not total:
        return "no samples collected\n"
    out = [f"{total} samples", "", "Top frames by self time:"]
    out += [f"  {c / total:6.1%}  {f}" for f, c in own.most_common(TOP_N)]
    focused = [(f, c) for f, c in incl.most_common() if focus in f][:TOP_N]
    out += [
        "",
        f"Top {focus} frames by inclusive time:" if focused else "Top frames by inclusive time:",
    ]
    out += [f"  {c / total:6.1%}  {f}" for f, c in (focused or incl.most_common(TOP_N))]
    return "\n".join(out) + "\n"


def _record(
    pyspy: str,
    pid: int,
    fmt: str,
    out: Path,
    seconds: float,
    gil_only: bool,
    rundir: Path,
    stack: ExitStack,
) -> Managed:
    argv = [
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--rate",
        "100",
        "--duration",
        str(int(seconds) + 1),
        "--format",
        fmt,
        "--output",
        str(out),
        *(["--gil"] if gil_only else []),
    ]
    spy = Managed(f"py-spy-{fmt}", argv, rundir / f"py-spy-{fmt}.log")
    stack.callback(spy.stop)

    def sampling() -> bool:
        return "Sampling" in spy.output()

    wait_until(sampling, 20, "py-spy to attach", spy)
    return spy


def profile(
    target: Target,
    ctx: Context,
    gen: LoadGenerator,
    bodies: Bodies,
    opts: Options,
    workdir: Path,
) -> int:
    from bench.run import probe

    if not ctx.tools.pyspy:
        _log("py-spy is not available (pip install py-spy failed or setup skipped)")
        return 1
    reason = target.skip_reason(ctx.tools)
    if reason:
        _log(f"cannot profile {target.name}: {reason}")
        return 1
    results = opts.results_dir
    results.mkdir(parents=True, exist_ok=True)
    svg, raw = results / "profile.svg", results / "profile.txt"
    rundir = workdir / "profile"
    rundir.mkdir()
    load = LoadSpec(opts.threads, opts.connections, opts.duration_s)
    with ExitStack() as stack:
        running = target.start(ctx, rundir, stack)
        assert running.rss_pid is not None
        probe(running.endpoint)
        gen.run(running.endpoint, bodies.plain, LoadSpec(1, 4, opts.warmup_s))
        for fmt, out in (("flamegraph", svg), ("raw", raw)):
            with ExitStack() as spy_stack:
                spy = _record(
                    ctx.tools.pyspy,
                    running.rss_pid,
                    fmt,
                    out,
                    opts.duration_s,
                    not opts.profile_all_threads,
                    rundir,
                    spy_stack,
                )
                result = gen.run(running.endpoint, bodies.plain, load)
                spy.proc.wait(timeout=opts.duration_s + 60)
            _log(
                f"{fmt}: {result.rps:,.0f} req/s under py-spy (slower than unprofiled), "
                f"{result.errors} errors"
            )
            if not out.exists():
                _log(f"py-spy wrote no {out}:\n{spy.output()[-1500:]}")
                return 1
    focus = target.name.split("-")[0]
    summary = top_frames(raw, focus)
    (results / "profile-top.txt").write_text(summary)
    print(summary)
    _log(f"flamegraph: {svg}; collapsed stacks: {raw}; top frames: {results / 'profile-top.txt'}")
    return 0
