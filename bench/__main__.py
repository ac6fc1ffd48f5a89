"""Entry point: `python -m bench [--quick] [--targets ...] [--profile] ...`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.load import BENCH_DIR
from bench.procs import exit_on_sigterm
from bench.run import Options, run
from bench.targets import all_targets, feature_targets

DEFAULT_TARGETS = "direct,nginx,relayscope,relayscope-postgres,relayscope-w2,litellm"


def parse(argv: list[str] | None) -> Options:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark RelayScope against direct, nginx and LiteLLM on loopback.",
    )
    ap.add_argument("--quick", action="store_true", help="1 repeat of 2 s phases (smoke check)")
    ap.add_argument("--repeats", type=int, help="interleaved repeats (default 3, quick 1)")
    ap.add_argument("--duration", type=float, help="seconds per load phase (default 10, quick 2)")
    ap.add_argument("--warmup", type=float, help="warm-up seconds per target (default 2, quick 1)")
    ap.add_argument(
        "--targets",
        default=DEFAULT_TARGETS,
        help=f"comma-separated, from: {', '.join(all_targets())} (default: all)",
    )
    ap.add_argument(
        "--scenarios",
        action="store_true",
        help="also measure the feature scenarios (cache hits, rate limit, 2 replicas) and "
        "the PostgreSQL log-ingestion rate",
    )
    ap.add_argument(
        "--ingest-records",
        type=int,
        help="records for the PostgreSQL ingestion benchmark (default 20000 with --scenarios, "
        "else 0 = skip)",
    )
    ap.add_argument("--threads", type=int, default=2, help="wrk threads for the saturated phase")
    ap.add_argument(
        "--connections", type=int, default=16, help="connections for the saturated phase"
    )
    ap.add_argument("--ttfb-requests", type=int, help="streaming requests (default 100, quick 20)")
    ap.add_argument(
        "--chunk-delay-ms",
        type=float,
        default=2.0,
        help="upstream gap between SSE chunks (shows buffering proxies)",
    )
    ap.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto = wrk when installed, else the Python fallback",
    )
    ap.add_argument("--relayscope-cmd", help="command that runs the gateway CLI (default: auto)")
    ap.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure the gateway at this git ref (e.g. the previous main), side by side",
    )
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    ap.add_argument(
        "--skip-setup", action="store_true", help="install nothing; skip what is missing"
    )
    ap.add_argument("--keep-workdir", action="store_true", help="keep temp dirs (logs, DBs)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="instead of benchmarking, sample --profile-target with py-spy under load",
    )
    ap.add_argument("--profile-target", default="relayscope")
    ap.add_argument(
        "--profile-all-threads",
        action="store_true",
        help="sample every thread, not only the one holding the GIL",
    )
    a = ap.parse_args(argv)
    targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    if a.scenarios:
        targets += [t.name for t in feature_targets() if t.name not in targets]
    ingest = a.ingest_records if a.ingest_records is not None else (20_000 if a.scenarios else 0)
    return Options(
        targets=targets,
        repeats=a.repeats if a.repeats is not None else (1 if a.quick else 3),
        duration_s=a.duration if a.duration is not None else (2.0 if a.quick else 10.0),
        warmup_s=a.warmup if a.warmup is not None else (1.0 if a.quick else 2.0),
        threads=a.threads,
        connections=a.connections,
        ttfb_requests=a.ttfb_requests if a.ttfb_requests is not None else (20 if a.quick else 100),
        records_deadline_s=20.0 if a.quick else 60.0,
        chunk_delay_ms=a.chunk_delay_ms,
        install=not a.skip_setup,
        load_generator=a.load_generator,
        relayscope_cmd=a.relayscope_cmd,
        results_dir=a.results_dir,
        keep_workdir=a.keep_workdir,
        profile=a.profile,
        profile_target=a.profile_target,
        profile_all_threads=a.profile_all_threads,
        ingest_records=ingest,
        baseline=a.baseline,
    )


def main(argv: list[str] | None = None) -> int:
    exit_on_sigterm()
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
