"""scripts/serve.sh and scripts/test.sh install the package only when its definition changed.

The scripts run for real on a copy of the repository whose ``.venv`` holds shims: a
``python`` that records how it was called (so no install happens), a ``relayscope``
that exits, and a ``chromium`` on PATH so test.sh has nothing to apt-get.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SHIM = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", repo / "scripts")
    shutil.copy(ROOT / "pyproject.toml", repo / "pyproject.toml")
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    tools = tmp_path / "tools"
    tools.mkdir()
    for shim in (bin_dir / "python", bin_dir / "relayscope", tools / "chromium"):
        shim.write_text(SHIM.format(log=tmp_path / "calls.log"))
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    return repo


def run(repo: Path, script: str) -> list[str]:
    """Run a script; the shim calls it made, one line each."""
    log = repo.parent / "calls.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PATH": f"{repo.parent / 'tools'}:/usr/bin:/bin"}
    subprocess.run(["bash", str(repo / "scripts" / script)], env=env, check=True, timeout=60)
    return log.read_text().splitlines() if log.exists() else []


def installs(calls: list[str]) -> list[str]:
    return [call for call in calls if "pip install" in call]


@pytest.mark.parametrize(("script", "spec"), [("serve.sh", "-e ."), ("test.sh", "-e .[test]")])
def test_restart_installs_only_when_pyproject_changed(checkout, script, spec):
    first = run(checkout, script)
    assert len(installs(first)) == 1 and installs(first)[0].endswith(spec), first

    second = run(checkout, script)
    assert installs(second) == [], "an unchanged package must not be reinstalled"
    assert second, "the script still starts its command"

    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# a dependency changed\n")
    assert len(installs(run(checkout, script))) == 1


def test_serve_and_test_installs_are_tracked_apart(checkout):
    run(checkout, "serve.sh")
    assert len(installs(run(checkout, "test.sh"))) == 1, "test extras are not installed by serve"
    assert installs(run(checkout, "serve.sh")) == []
