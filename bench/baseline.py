"""--baseline REF: the same bench run also measures the gateway as it was at REF.

A change is judged against the code it replaces on the same machine, in the same
run, interleaved: two runs hours apart differ by more than most changes do (the
machine's calibration figure moves by 2x between sessions). REF's ``src/`` is
unpacked from git into the run's work directory and run with this checkout's
Python environment, so only the gateway's own code differs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from bench.load import BENCH_DIR, ROOT

NAME = "relayscope-baseline"
CACHE = BENCH_DIR / ".cache" / "baseline"


@dataclass(frozen=True)
class Baseline:
    ref: str
    commit: str
    command: list[str]
    """Runs REF's gateway CLI (``serve``, ``keys create``) with this environment."""

    @property
    def short(self) -> str:
        return self.commit[:7]


class BaselineError(Exception):
    pass


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], check=True, capture_output=True, timeout=120
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        detail = (getattr(exc, "stderr", b"") or b"").decode(errors="replace").strip()
        raise BaselineError(f"git {' '.join(args)}: {detail or exc}") from exc


def unpack(ref: str, cache: Path = CACHE) -> Baseline:
    """REF's ``src/``, unpacked once per commit under ``cache``, and the command
    that runs it."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}").decode().strip()
    into = cache / commit
    if not (into / "src").exists():
        partial = cache / f"{commit}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        with tarfile.open(fileobj=BytesIO(_git("archive", "--format=tar", commit, "src"))) as tar:
            tar.extractall(partial, filter="data")
        partial.rename(into)
    src = into / "src"
    if not (src / "relayscope" / "cli.py").exists():
        raise BaselineError(f"{ref} ({commit[:7]}) has no src/relayscope/cli.py")
    # `env` puts REF's tree first on the path for the gateway and its `keys create`.
    command = ["env", f"PYTHONPATH={src}", sys.executable, "-m", "relayscope"]
    return Baseline(ref, commit, command)
