"""Runs the load generators (wrk or the Python fallback) and the TTFB client.

Each one is a separate process so the load's own CPU use never runs inside the
harness; each prints one `BENCH_JSON {...}` line, parsed here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import aio
from bench.http1 import Endpoint

BENCH_DIR = Path(__file__).resolve().parent
WRK_SCRIPT = BENCH_DIR / "wrk" / "post.lua"
ROOT = BENCH_DIR.parent


class LoadError(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadSpec:
    threads: int
    connections: int
    duration_s: float


@dataclass
class LoadResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    non2xx: int
    socket_errors: int
    tool: str

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket_errors

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "errors": self.errors}


def _parse_bench_json(stdout: str, what: str) -> dict[str, Any]:
    parsed = aio.result_line(stdout)
    if parsed is not None:
        return parsed
    raise LoadError(f"{what} printed no BENCH_JSON line:\n{stdout[-2000:]}")


def _run(argv: list[str], env: dict[str, str], timeout: float, what: str) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"{what} did not finish within {timeout:.0f}s") from exc
    if proc.returncode != 0:
        raise LoadError(f"{what} exited {proc.returncode}: {(proc.stderr or proc.stdout)[-2000:]}")
    return _parse_bench_json(proc.stdout, what)


class LoadGenerator:
    """`wrk` when available, else the Python fallback (bench/pyload.py)."""

    def __init__(self, wrk: str | None) -> None:
        self.wrk = wrk
        self.tool = "wrk" if wrk else "python"

    def run(
        self, endpoint: Endpoint, body_file: Path, spec: LoadSpec, ids_file: Path | None = None
    ) -> LoadResult:
        """One load phase; with ``ids_file``, 2xx answers' ids go to ``<ids_file>*.ids``."""
        env = {**os.environ, "BENCH_BODY_FILE": str(body_file)}
        if ids_file is not None:
            env["BENCH_IDS_FILE"] = str(ids_file)
        timeout = spec.duration_s + 60
        headers = [a for h in endpoint.header_args() for a in ("-H", h)]
        if self.wrk:
            argv = [
                self.wrk,
                f"-t{spec.threads}",
                f"-c{spec.connections}",
                f"-d{max(1, round(spec.duration_s))}s",
                "--timeout",
                "10s",
                "-s",
                str(WRK_SCRIPT),
                *headers,
                endpoint.url,
            ]
        else:
            argv = [
                sys.executable,
                "-m",
                "bench.pyload",
                "--host",
                endpoint.host,
                "--port",
                str(endpoint.port),
                "--path",
                endpoint.path,
                "--body-file",
                str(body_file),
                "--connections",
                str(spec.connections),
                "--duration",
                str(spec.duration_s),
                *headers,
            ]
            if ids_file is not None:
                argv += ["--ids-file", str(ids_file)]
        raw = _run(argv, env, timeout, self.tool)
        duration = raw["duration_us"] / 1e6
        errs = raw["socket_errors"]
        return LoadResult(
            requests=int(raw["requests"]),
            duration_s=duration,
            rps=raw["requests"] / duration if duration > 0 else 0.0,
            p50_ms=raw.get("p50_ms"),
            p90_ms=raw.get("p90_ms"),
            p95_ms=raw.get("p95_ms"),
            p99_ms=raw.get("p99_ms"),
            max_ms=raw.get("max_ms"),
            non2xx=int(raw["non2xx"]),
            socket_errors=sum(int(v) for v in errs.values()),
            tool=self.tool,
        )


def run_ttfb(
    endpoint: Endpoint,
    body_file: Path,
    requests: int,
    max_seconds: float,
    ids_file: Path | None = None,
    done_marker: str = "[DONE]",
) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-m",
        "bench.ttfb",
        "--host",
        endpoint.host,
        "--port",
        str(endpoint.port),
        "--path",
        endpoint.path,
        "--body-file",
        str(body_file),
        "--requests",
        str(requests),
        "--max-seconds",
        str(max_seconds),
        "--done-marker",
        done_marker,
        *[a for h in endpoint.header_args() for a in ("-H", h)],
    ]
    if ids_file is not None:
        argv += ["--ids-file", str(ids_file)]
    return _run(argv, dict(os.environ), max_seconds + 30, "ttfb client")
