"""The code base stays type-checked, lint-clean and layered: ``mypy --strict``, ``ruff check``
and import-linter's contracts (all configured in pyproject.toml) report nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # The checkout's own source, whatever the environment has installed.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def test_mypy_strict_reports_no_errors() -> None:
    result = _run("-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_is_clean() -> None:
    result = _run("-m", "ruff", "check", "src", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_are_kept() -> None:
    lint = "import importlinter.cli as cli; raise SystemExit(cli.lint_imports(no_cache=True))"
    result = _run("-c", lint)
    assert result.returncode == 0, result.stdout + result.stderr
