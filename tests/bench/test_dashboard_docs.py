"""docs/dashboard.md's timing table is the committed dashboard run, every query of it
(a missed target included), not figures typed in from another run."""

from __future__ import annotations

import json
from pathlib import Path

from bench.dashboard import DOCS, render_docs

RESULTS = Path(__file__).parents[2] / "bench" / "results" / "dashboard.json"


def test_the_docs_table_is_generated_from_the_committed_results():
    result = json.loads(RESULTS.read_text())
    docs = DOCS.read_text()
    assert render_docs(docs, result) == docs, (
        "docs/dashboard.md's timings differ from bench/results/dashboard.json: "
        "run python -m bench.dashboard (or render_docs) again"
    )
    for query in result["queries"]:
        assert f"| {query['query']} |" in docs
