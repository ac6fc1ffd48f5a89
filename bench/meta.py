"""Machine facts and tool versions recorded with every result."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.provision import Tools

VERSION_SNIPPET = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"
SOURCE_SNIPPET = "import os, relayscope; print(os.path.dirname(relayscope.__file__))"


def _out(argv: list[str], timeout: float = 30) -> str | None:
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (proc.stdout + proc.stderr).strip()
    return text if proc.returncode == 0 and text else None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _mem_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _gateway_python(cmd: list[str]) -> list[str]:
    """How to run Python as the gateway runs: its interpreter, with the same ``env``
    prefix (a ``PYTHONPATH`` pointing at another checkout must name that checkout)."""
    if len(cmd) >= 2 and cmd[-2] == "-m" and cmd[-1] in ("relayscope", "relayscope.cli"):
        return cmd[:-2]
    if "python" in Path(cmd[0]).name:
        return [cmd[0]]
    candidate = Path(cmd[0]).parent / "python"
    return [str(candidate) if candidate.exists() else sys.executable]


def relayscope_info(cmd: list[str] | None) -> dict[str, str | None]:
    if not cmd:
        return {"version": None, "commit": None}
    python = _gateway_python(cmd)
    version = _out([*python, "-c", VERSION_SNIPPET, "relayscope"])
    source = _out([*python, "-c", SOURCE_SNIPPET])
    commit = None
    if source:
        commit = _out(["git", "-C", source, "rev-parse", "--short", "HEAD"])
        dirty = _out(["git", "-C", source, "status", "--porcelain", "--", "."])
        if commit and dirty:
            commit += "-dirty"
    return {"version": version, "commit": commit, "source": source}


def collect(tools: Tools) -> dict[str, Any]:
    nginx = _out([tools.nginx, "-v"]) if tools.nginx else None
    wrk = _out([tools.wrk, "-v"]) if tools.wrk else None
    if wrk is None and tools.wrk:
        # `wrk -v` exits non-zero after printing its banner
        proc = subprocess.run([tools.wrk, "-v"], capture_output=True, text=True, timeout=10)
        wrk = (proc.stdout + proc.stderr).strip()
    litellm = (
        _out([tools.litellm_python, "-c", VERSION_SNIPPET, "litellm"])
        if tools.litellm_python
        else None
    )
    return {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cores": os.cpu_count(),
            "cpu": _cpu_model(),
            "memory_gib": _mem_gib(),
            "platform": platform.platform(),
        },
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "versions": {
            "relayscope": relayscope_info(tools.relayscope),
            "litellm": litellm,
            "nginx": nginx.split("/", 1)[-1] if nginx else None,
            "wrk": wrk.splitlines()[0].split(" [")[0] if wrk else None,
            "py-spy": _out([tools.pyspy, "--version"]) if tools.pyspy else None,
        },
    }
