"""The streaming scenario: its load client against the bench upstream, and its verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from bench.streamreport import judge, markdown

from bench import aio
from relayscope.testing.process import free_port
from relayscope.testing.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
PACE = ("--chunk-delay-ms", "5", "--stream-chunks", "6")


def test_the_load_times_every_stream_to_its_end():
    port = free_port()
    upstream = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream", "--port", str(port), *PACE],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=30)
        load = subprocess.run(
            [sys.executable, "-m", "bench.streamload", "--port", str(port), "--streams", "20"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        upstream.terminate()
        upstream.wait(10)
    result = aio.result_line(load.stdout)
    assert result is not None, load.stderr
    assert result["completed"] == 20 and result["statuses"] == {"200": 20}
    assert result["events"] == 20 * 7  # six chunks and [DONE] each
    # Each stream takes at least its five gaps between chunks.
    assert result["duration_p50_ms"] >= 25 and result["ttft_p50_ms"] <= result["duration_p50_ms"]


def _row(target: str, streams: int, **figures: object) -> dict[str, object]:
    base = {"target": target, "streams": streams, "completed": streams}
    return {**base, "statuses": {"200": streams}, "errors": {}, **figures}


def test_the_goals_compare_relayscope_with_direct_and_portkey():
    rows = [
        _row("direct", 2000, ttft_p50_ms=70, ttft_p99_ms=80, duration_p50_ms=3000),
        _row("relayscope", 2000, ttft_p50_ms=100, ttft_p99_ms=200, duration_p50_ms=3100,
             capacity_chunks_per_s_per_core=50_000, rss_kib_per_stream=20.0,
             records={"lost": 0, "answered_2xx": 2000}),
        _row("portkey", 2000, capacity_chunks_per_s_per_core=20_000),
        _row("relayscope", 5000, statuses={"200": 4990, "503": 10}, completed=4990,
             capacity_chunks_per_s_per_core=40_000, rss_kib_per_stream=40.0,
             records={"lost": 1, "answered_2xx": 4990}),
    ]  # fmt: skip
    goals = {g["goal"]: g for g in judge(rows)}
    statuses = [g["status"] for g in goals.values()]
    assert statuses == ["not met", "met", "not met", "not met", "met", "not met"]
    assert rows[1]["ttft_overhead_p99_ms"] == 120 and rows[1]["stretch_pct"] == 3.33
    text = markdown(
        {
            "config": {
                "chunks": 60, "chunk_delay_ms": 50, "gateway_core": "0", "load_core": "1",
                "loadavg_before": [1, 1, 1], "loadavg_after": [2, 2, 2], "sizes": [2000, 5000],
                "skipped": {"nginx": "nginx is not installed"},
            },
            "rows": rows,
            "goals": list(goals.values()),
            "calibration_us": 7.5,
        }
    )  # fmt: skip
    assert "nginx skipped: nginx is not installed" in text
    assert "| relayscope | 4990 | 10 |" in text
    assert json.dumps(rows)  # every figure stays JSON
