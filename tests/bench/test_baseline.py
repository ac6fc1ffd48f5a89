"""--baseline: the previous code runs in the same bench run, and the report judges
the current code against it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from bench.load import ROOT

from bench import baseline, report


def _head() -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_ref_is_unpacked_once_and_its_gateway_runs(tmp_path: Path) -> None:
    base = baseline.unpack("HEAD", tmp_path)
    assert base.commit == _head()
    unpacked = tmp_path / base.commit / "src" / "relayscope"
    # The command runs the unpacked tree, not this checkout's.
    probe = subprocess.run(
        [*base.command[:-2], "-c", "import relayscope; print(relayscope.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.strip() == str(unpacked / "__init__.py")
    served = subprocess.run(
        [*base.command, "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert served.returncode == 0, served.stderr
    (unpacked / "marker").write_text("kept")
    again = baseline.unpack("HEAD", tmp_path)
    assert (tmp_path / again.commit / "src/relayscope/marker").read_text() == "kept"


def test_an_unknown_ref_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(baseline.BaselineError, match="no-such-ref"):
        baseline.unpack("no-such-ref", tmp_path)


def _goals(overhead: float, rps: float) -> dict[str, str]:
    summary = {
        "relayscope": {"overhead_p50_ms": overhead, "rps": rps},
        baseline.NAME: {"overhead_p50_ms": 0.5, "rps": 3000.0},
    }
    return {g["goal"]: g["status"] for g in report.goals(summary, {}) if "baseline" in g["goal"]}


def test_more_than_ten_percent_worse_than_the_baseline_is_missed() -> None:
    assert _goals(0.54, 2800.0) == {
        "overhead P50 <= 110% of the baseline's": "met",
        "throughput >= 90% of the baseline's": "met",
    }
    assert _goals(0.56, 2600.0) == {
        "overhead P50 <= 110% of the baseline's": "missed",
        "throughput >= 90% of the baseline's": "missed",
    }


def test_without_a_baseline_there_is_no_baseline_goal() -> None:
    summary = {"relayscope": {"overhead_p50_ms": 0.5, "rps": 3000.0}}
    assert not [g for g in report.goals(summary, {}) if "baseline" in g["goal"]]
