"""Starting `relayscope serve` for every harness: the test suite's ``GatewayProcess``
(``relayscope.testing``) on a free loopback port, waited on until /healthz answers,
and a key for it.

The command is the harness's (`--relayscope-cmd`, or the soak's memory-sampling
entry), so a gateway from another checkout, or one pinned with `taskset`, starts the
same way.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Managed, StartError, tail
from relayscope.testing.process import GatewayProcess

KEY_LINE = re.compile(r"key", re.IGNORECASE)


def launch(
    stack: ExitStack,
    name: str,
    argv: list[str],
    rundir: Path,
    env: dict[str, str] | None = None,
) -> Managed:
    """A child process logging to ``<rundir>/<name>.log``, stopped when ``stack`` closes."""
    proc = Managed(name, argv, rundir / f"{name}.log", env=env, cwd=rundir)
    stack.callback(proc.stop)
    return proc


@dataclass
class Served:
    gateway: GatewayProcess
    """The test suite's gateway process (``relayscope.testing``), in its own session."""
    ready_s: float
    """Seconds from the start until /healthz answered."""

    @property
    def port(self) -> int:
        return self.gateway.port

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def pid(self) -> int:
        return self.gateway.pid

    def output(self) -> str:
        return self.gateway.log()


def serve(
    stack: ExitStack,
    cmd: Sequence[str],
    env: dict[str, str],
    rundir: Path,
    *,
    name: str = "relayscope",
    args: Sequence[str] = (),
    workers: int = 1,
    ready_s: float = 90,
) -> Served:
    """``<cmd> serve`` on a free port, once its /healthz answers 200; stopped (with
    anything left in its process group) when ``stack`` closes.

    The gateway's data dir is ``env``'s ``RELAYSCOPE_DATA_DIR`` if set, else one of
    its own in ``rundir``: never the user's, whose spool a bench gateway would replay.
    """
    data_dir = Path(env.get("RELAYSCOPE_DATA_DIR") or rundir / f"{name}-data")
    gateway = GatewayProcess(
        data_dir,
        env,
        workers=workers,
        command=cmd,
        args=args,
        log_path=rundir / f"{name}.log",
        cwd=rundir,
        session=True,
    )
    started = time.monotonic()
    try:
        gateway.start(timeout=ready_s)
    except (AssertionError, RuntimeError) as exc:
        problem = "exited early" if gateway.returncode is not None else "never answered /healthz"
        raise StartError(
            f"{name} {problem} (within {ready_s:.0f}s):\n{tail(gateway.log_path)}"
        ) from exc
    stack.callback(gateway.stop, timeout=10)
    return Served(gateway, time.monotonic() - started)


def create_key(
    cmd: Sequence[str],
    env: dict[str, str],
    rundir: Path,
    *,
    org: str = "bench",
    served: Served | None = None,
    timeout: float = 60,
) -> str:
    """A new proxy key from ``<cmd> keys create``; failing that, one the running
    gateway printed (``served``'s output). StartError when there is neither."""
    try:
        proc = subprocess.run(
            [*cmd, "keys", "create", "--org", org],
            capture_output=True,
            text=True,
            env=env,
            cwd=rundir,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        output = ""
    else:
        lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
        if proc.returncode == 0 and lines:
            return lines[-1]
        output = proc.stdout + proc.stderr
        (rundir / "keys-create.log").write_text(output)
    key = key_from_serve_output(served.output()) if served is not None else None
    if not key:
        raise StartError(
            f"could not obtain a gateway key (keys create / serve output): {output[-500:]}"
        )
    return key


def key_from_serve_output(text: str) -> str | None:
    """Best-effort fallback: the last long token on a line that mentions a key."""
    for line in reversed(text.splitlines()):
        if KEY_LINE.search(line):
            tokens = [t.strip("'\"`,.") for t in line.split()]
            tokens = [t for t in tokens if len(t) >= 16 and " " not in t]
            if tokens:
                return tokens[-1]
    return None
