"""Every harness leaves a Markdown summary and a compact JSON, and cleans its work dir."""

from __future__ import annotations

import json
from pathlib import Path

from bench import output


def test_results_are_a_markdown_summary_and_one_line_of_json(tmp_path: Path) -> None:
    result = {"figures": {"rps": 2000.5, "note": "µs"}, "series": [{"t": 0}, {"t": 10}]}
    json_path, md_path = output.write(tmp_path / "results", "sustained-sqlite", result, "# Title")

    assert json_path.name == "sustained-sqlite.json" and md_path.name == "sustained-sqlite.md"
    lines = json_path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0]) == result
    assert md_path.read_text() == "# Title\n"


def test_the_work_dir_goes_unless_it_is_kept(tmp_path: Path) -> None:
    said: list[str] = []
    with output.workdir("bench-test-", False, said.append) as gone:
        (gone / "gateway.log").write_text("log")
    with output.workdir("bench-test-", True, said.append) as kept:
        (kept / "gateway.log").write_text("log")

    assert not gone.exists()
    assert (kept / "gateway.log").read_text() == "log"
    assert said == [f"work dir kept: {kept}"]
    (kept / "gateway.log").unlink()
    kept.rmdir()
