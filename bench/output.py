"""Where every harness keeps its work and its results.

``workdir`` is the run's temporary directory (every process's log, configuration
and store), removed afterwards unless kept. ``write`` leaves two files a run:
``<name>.md``, the summary a reader opens, and ``<name>.json``, every figure in
compact JSON (one line) for scripts and for the histories built from it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def workdir(prefix: str, keep: bool, log: Callable[[str], None]) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            log(f"work dir kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def write(results_dir: Path, name: str, result: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """``<name>.json`` (compact) and ``<name>.md`` in ``results_dir``."""
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path = results_dir / f"{name}.json"
    md_path = results_dir / f"{name}.md"
    json_path.write_text(
        json.dumps(result, separators=(",", ":"), ensure_ascii=False, default=str) + "\n"
    )
    md_path.write_text(markdown if markdown.endswith("\n") else markdown + "\n")
    return json_path, md_path
