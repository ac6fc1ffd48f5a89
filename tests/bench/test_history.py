"""The benchmark keeps every run and judges a commit on all of its runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench import history, meta, report


def _result(commit: str, p50: float, *, generator: str = "wrk", when: str = "t") -> dict[str, Any]:
    summary = {
        "direct": {"overhead_p50_ms": 0.0, "rps": 100_000.0},
        "relayscope": {"overhead_p50_ms": p50, "rps": 3000.0, "lost": 0, "extra": 1},
    }
    return {
        "meta": {"timestamp": when, "versions": {"relayscope": {"commit": commit}}},
        "config": {"load_generator": generator, "repeats": 3, "loadavg_before": [0.2, 0.3, 0.4]},
        "summary": summary,
        "per_repeat": [{"direct_cpu_us": 7.0}, {"direct_cpu_us": 9.0}, {"direct_cpu_us": 8.0}],
        "goals": [report._goal("overhead P50 <= 1 ms", p50, 1.0, "ms", False, "")],
    }


def test_every_run_is_appended_never_replaced(tmp_path: Path) -> None:
    history.append(_result("abc", 0.4, when="first"), tmp_path)
    history.append(_result("abc", 0.6, when="second"), tmp_path)
    kept = history.load(tmp_path)
    assert [e["timestamp"] for e in kept] == ["first", "second"]
    assert kept[0]["calibration_us"] == 8.0  # the median over the repeats
    assert kept[0]["loadavg_before"] == [0.2, 0.3, 0.4]
    assert kept[1]["summary"]["relayscope"] == {"overhead_p50_ms": 0.6, "rps": 3000.0, "lost": 0}


def test_a_goal_missed_by_one_run_of_the_commit_never_reads_met(tmp_path: Path) -> None:
    history.record(_result("abc", 0.5), tmp_path)
    history.record(_result("other", 9.0), tmp_path)  # another commit does not count
    history.record(_result("abc", 0.7, generator="python"), tmp_path)  # nor another generator
    this_run = _result("abc", 1.4)
    this_run["history"] = history.record(this_run, tmp_path)

    (verdict,) = this_run["history"]["verdicts"]
    assert this_run["history"]["runs"] == 2
    assert verdict["verdict"] == "met in 1 of 2 runs"
    assert (verdict["median"], verdict["low"], verdict["high"]) == (0.95, 0.5, 1.4)
    table = "\n".join(report.goal_table(this_run, this_run["goals"]))
    assert "**met in 1 of 2 runs**" in table
    assert "**met**" not in table


def test_the_history_command_prints_each_commit(tmp_path: Path) -> None:
    history.record(_result("abc", 0.5), tmp_path)
    history.record(_result("abc", 0.3), tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "bench.history", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "## abc (wrk), 2 run(s)" in out
    assert "| overhead P50 <= 1 ms | 0.4 | 0.3 to 0.5 | **met in 2 of 2 runs** |" in out


def test_an_older_report_can_be_added(tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    old.write_text(json.dumps(_result("abc", 0.5)))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.history",
            "--results-dir",
            str(tmp_path),
            "add",
            str(old),
            "--source",
            "git abc:bench/results/latest.json",
        ],
        check=True,
        capture_output=True,
    )
    (kept,) = history.load(tmp_path)
    assert kept["source"] == "git abc:bench/results/latest.json"


def test_the_gateway_commit_is_the_checkout_it_runs_from(tmp_path: Path) -> None:
    """A gateway run from another checkout (``--relayscope-cmd "env PYTHONPATH=..."``)
    is recorded under that checkout's commit, not the bench's."""
    package = tmp_path / "src" / "relayscope"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "other checkout"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()

    cmd = ["env", f"PYTHONPATH={tmp_path / 'src'}", sys.executable, "-m", "relayscope"]
    info = meta.relayscope_info(cmd)
    assert info["source"] == str(package)
    assert info["commit"] == head
