"""Idempotent setup: Debian wrk/nginx, the LiteLLM venv, py-spy; tool discovery.

Nothing here raises on a failed install: the affected target is skipped with a
reason instead, and the run goes on.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import BENCH_DIR

LITELLM_VENV = BENCH_DIR / ".venv-litellm"
# Releases reported as compromised on PyPI; never install them.
LITELLM_REQUIREMENT = "litellm[proxy]!=1.82.7,!=1.82.8,!=1.107.0"
# LiteLLM's uvicorn falls back to the slow pure-Python h11 parser without httptools;
# installing it gives LiteLLM the same HTTP stack as RelayScope.
LITELLM_EXTRAS = ["httptools", "uvloop"]
APT_TIMEOUT = 600
PIP_TIMEOUT = 1200


@dataclass
class Tools:
    wrk: str | None = None
    nginx: str | None = None
    litellm: list[str] | None = None
    litellm_python: str | None = None
    pyspy: str | None = None
    relayscope: list[str] | None = None
    psql: str | None = None
    notes: dict[str, str] = field(default_factory=dict)


def _log(msg: str) -> None:
    print(f"[setup] {msg}", flush=True)


def _run(argv: list[str], timeout: float, env: dict[str, str] | None = None) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 1, str(exc)
    return proc.returncode, (proc.stdout + proc.stderr)


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / name).exists()), None
    )


def ensure_apt(packages: dict[str, str], install: bool) -> dict[str, str | None]:
    """Map binary -> path, installing the Debian package for any missing binary."""
    found = {binary: _which(binary) for binary in packages}
    missing = [packages[b] for b, path in found.items() if path is None]
    if missing and install:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            _log(f"cannot install {missing}: needs root and apt-get")
        else:
            _log(f"installing Debian packages {missing} ...")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            rc, out = _run(["apt-get", "install", "-y", "-q", *missing], APT_TIMEOUT, env)
            if rc != 0:
                _run(["apt-get", "update", "-q"], APT_TIMEOUT, env)
                rc, out = _run(["apt-get", "install", "-y", "-q", *missing], APT_TIMEOUT, env)
            if rc != 0:
                _log(f"apt-get install failed:\n{out[-1500:]}")
            found = {binary: _which(binary) for binary in packages}
    return found


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _litellm_ok(python: Path) -> bool:
    rc, _ = _run([str(python), "-c", "import litellm.proxy.proxy_server, httptools"], 180)
    return rc == 0


def ensure_litellm(install: bool) -> tuple[Path | None, str]:
    python = _venv_python(LITELLM_VENV)
    if python.exists() and (LITELLM_VENV / "bin" / "litellm").exists() and _litellm_ok(python):
        return python, "ok"
    if not install:
        return None, f"LiteLLM venv {LITELLM_VENV} missing or broken (setup skipped)"
    _log(f"creating {LITELLM_VENV} with {LITELLM_REQUIREMENT} (takes a few minutes) ...")
    base = getattr(sys, "_base_executable", sys.executable)
    rc, out = _run([base, "-m", "venv", str(LITELLM_VENV)], 300)
    if rc != 0:
        return None, f"could not create venv: {out[-500:]}"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    rc, out = _run([*pip, LITELLM_REQUIREMENT, *LITELLM_EXTRAS], PIP_TIMEOUT)
    if rc != 0 or not _litellm_ok(python):
        return None, f"pip install {LITELLM_REQUIREMENT} failed: {out[-800:]}"
    return python, "installed"


def ensure_pyspy(install: bool) -> str | None:
    for candidate in (
        shutil.which("py-spy"),
        str(Path(sys.executable).parent / "py-spy"),
        str(LITELLM_VENV / "bin" / "py-spy"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    if not install or not _venv_python(LITELLM_VENV).exists():
        return None
    _log("installing py-spy into the bench venv ...")
    rc, out = _run([str(_venv_python(LITELLM_VENV)), "-m", "pip", "install", "-q", "py-spy"], 600)
    if rc != 0:
        _log(f"py-spy install failed: {out[-500:]}")
        return None
    return str(LITELLM_VENV / "bin" / "py-spy")


def relayscope_command(override: str | None) -> list[str]:
    if override:
        return shlex.split(override)
    script = Path(sys.executable).parent / "relayscope"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "relayscope.cli"]


def check_relayscope(cmd: list[str]) -> str | None:
    """None when the gateway CLI answers `serve --help`, else the reason it does not."""
    rc, out = _run([*cmd, "serve", "--help"], 60)
    if rc != 0:
        last = out.strip().splitlines()[-1:] or ["no output"]
        return f"`{' '.join(cmd)} serve --help` failed: {last[0][:300]}"
    return None


def prepare(
    install: bool,
    want: set[str],
    relayscope_cmd: str | None,
    force_python_load: bool,
    profile: bool,
) -> Tools:
    tools = Tools()
    apt: dict[str, str] = {} if force_python_load else {"wrk": "wrk"}
    # targets that put nginx in front (e.g. relayscope-2-replicas-nginx) need it too
    if any(name == "nginx" or name.endswith("-nginx") for name in want):
        want = want | {"nginx"}
    if "nginx" in want:
        apt["nginx"] = "nginx-light"
    found = ensure_apt(apt, install)
    tools.wrk = found.get("wrk")
    tools.nginx = found.get("nginx")
    if not force_python_load and not tools.wrk:
        tools.notes["wrk"] = "wrk not available: using the Python load generator (less accurate)"
    if "nginx" in want and not tools.nginx:
        tools.notes["nginx"] = "nginx not available (apt-get install nginx-light failed or skipped)"

    if "litellm" in want:
        python, status = ensure_litellm(install)
        if python is None:
            tools.notes["litellm"] = status
        else:
            tools.litellm_python = str(python)
            tools.litellm = [str(LITELLM_VENV / "bin" / "litellm")]

    if any(t.startswith("relayscope") for t in want) or profile:
        cmd = relayscope_command(relayscope_cmd)
        reason = check_relayscope(cmd)
        if reason:
            tools.notes["relayscope"] = f"RelayScope gateway not runnable: {reason}"
        else:
            tools.relayscope = cmd
    if "relayscope-postgres" in want:
        tools.psql = _which("psql")
    if profile:
        tools.pyspy = ensure_pyspy(install)
    return tools
