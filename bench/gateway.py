"""Starting `relayscope serve` for every harness: one way to launch it on a free
loopback port, wait for its /healthz, and get a key for it.

The command is the harness's (`--relayscope-cmd`, or the soak's memory-sampling
entry), so a gateway from another checkout starts the same way.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.procs import HOST, Managed, StartError, free_port, http_ready, wait_until

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
    proc: Managed
    port: int
    ready_s: float
    """Seconds from the start until /healthz answered."""

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


def serve(
    stack: ExitStack,
    cmd: Sequence[str],
    env: dict[str, str],
    rundir: Path,
    *,
    name: str = "relayscope",
    args: Sequence[str] = (),
    ready_s: float = 90,
) -> Served:
    """``<cmd> serve`` on a free port, once its /healthz answers 200."""
    port = free_port()
    argv = [*cmd, "serve", "--host", HOST, "--port", str(port), *args]
    proc = launch(stack, name, argv, rundir, env)
    health = f"http://{HOST}:{port}/healthz"
    waited = wait_until(http_ready(health), ready_s, f"{health} to answer 200", proc)
    return Served(proc, port, waited)


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
    key = key_from_serve_output(served.proc.output()) if served is not None else None
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
