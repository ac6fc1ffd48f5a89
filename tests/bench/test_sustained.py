"""The sustained bench: varied traffic, the ramp's verdict, losses counted by id in SQL,
and results the history reads."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from bench.procs import free_port, http_ready, wait_until
from bench.sustained import Options, _sqlite_missing, highest_bounded, ramp_verdicts
from bench.sustainload import Mix, Traffic

from bench import history, sustainreport

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def upstream() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.upstream", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(http_ready(f"http://127.0.0.1:{port}/healthz"), 30, "the upstream")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _post(port: int, model: str) -> tuple[int, dict[str, Any]]:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]})
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", body.encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_bench_upstream_fails_the_calls_whose_model_asks_for_it(upstream: int) -> None:
    assert _post(upstream, "error-500") == (
        500,
        {"error": {"message": "bench upstream: HTTP 500"}},
    )
    assert _post(upstream, "error-429")[0] == 429
    status, body = _post(upstream, "gpt-4o")
    assert status == 200 and body["model"] == "gpt-4o"


def test_the_traffic_varies_like_a_real_org_and_repeats_with_its_seed() -> None:
    def sample(seed: int) -> list[tuple[bytes, bool]]:
        traffic = Traffic("127.0.0.1", 9, "key", Mix(), seed)
        return [traffic.request(i) for i in range(3_000)]

    requests = sample(1)
    assert requests == sample(1)
    assert requests != sample(2)
    heads = [raw.split(b"\r\n\r\n", 1)[0].decode() for raw, _ in requests]
    bodies = [json.loads(raw.split(b"\r\n\r\n", 1)[1]) for raw, _ in requests]

    def header(name: str) -> set[str]:
        return {
            line.split(": ", 1)[1]
            for h in heads
            for line in h.split("\r\n")
            if line.startswith(name)
        }

    assert len(header("Helicone-User-Id")) > 2_000
    assert len(header("Helicone-Session-Id")) > 2_500
    assert len(header("Helicone-Property-Feature")) == 50
    models = [b["model"] for b in bodies]
    assert {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1-nano", "o3-mini"} <= set(models)
    assert 0.01 < sum(m.startswith("error-") for m in models) / len(models) < 0.04
    assert 0.07 < sum(stream for _, stream in requests) / len(requests) < 0.13
    sizes = sorted(len(raw) for raw, _ in requests)
    assert sizes[0] < 1_000 and sizes[-1] > 10_000
    prompts = [b["messages"][-1]["content"] for b in bodies]
    assert len(set(prompts)) == len(prompts)


def _step(rate: float, answered: float, not_sent: int = 0) -> dict[str, Any]:
    return {"seconds": 10.0, "rate": rate, "answered_per_s": answered, "not_sent": not_sent}


def test_the_ramp_finds_the_last_rate_before_the_queue_or_the_answers_gave_way() -> None:
    summary = {"steps": [_step(500, 500), _step(1000, 995), _step(1500, 1490), _step(2000, 2000)]}
    samples = [
        {"t": t, "queue_depth": depth}
        for t, depth in [
            (2, 3_000),  # first half of a step: the ramp-up burst does not count
            (8, 100),
            (18, 400),
            (28, 900),
            (29, 2_000),  # past max(1,000, 1 s of records) at 1,500 req/s
            (38, 100),
        ]
    ]
    steps = ramp_verdicts(summary, samples)
    assert [(s["held"], s["bounded"]) for s in steps] == [
        (True, True),
        (True, True),
        (True, False),
        (True, True),
    ]
    assert highest_bounded(steps) == 1000  # 2,000 passing after 1,500 failed does not count

    unanswered = ramp_verdicts({"steps": [_step(500, 500), _step(1000, 900)]}, samples[:3])
    assert highest_bounded(unanswered) == 500
    assert highest_bounded(ramp_verdicts({"steps": [_step(500, 500, not_sent=3)]}, [])) is None


def test_lost_records_are_counted_by_id_in_the_store(tmp_path: Path) -> None:
    db = tmp_path / "relayscope.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE requests (org_id TEXT, id TEXT, PRIMARY KEY (org_id, id))")
        conn.executemany("INSERT INTO requests VALUES ('o', ?)", [(f"id-{i}",) for i in range(100)])
        conn.commit()
    ids = tmp_path / "sustained.ids"
    ids.write_text("".join(f"id-{i}\n" for i in range(95, 103)))
    assert _sqlite_missing(db, ids) == 3


def _options(duration: float, tmp_path: Path) -> Options:
    return Options(
        store="sqlite",
        duration=duration,
        rate=2000.0,
        ramp=[],
        ramp_step_s=20.0,
        sample_interval=10.0,
        stream_share=0.1,
        max_connections=256,
        drain_deadline=60.0,
        seed=27,
        relayscope_cmd=None,
        results_dir=tmp_path,
        keep_workdir=False,
    )


def _result(duration: float, tmp_path: Path, depths: list[int], lost: int) -> dict[str, Any]:
    series = [
        {
            "t": 10.0 * i,
            "queue_depth": depth,
            "last_stored_age_s": 0.2,
            "rss_mib": 150.0 + i,
            "stored_per_s": 2000.0,
            "writer_busy_pct": 50.0,
            "cpu_pct": 90.0,
            "store_mib": 100.0 + i,
        }
        for i, depth in enumerate(depths)
    ]
    step = {
        "answered_per_s": 2000.0,
        "not_sent": 0,
        "failed": 0,
        "p50_ms": 1.0,
        "p99_ms": 9.0,
        "late_p99_ms": 0.5,
    }
    facts = {
        "timestamp": "2026-12-03T10:00:00+00:00",
        "machine": {"cores": 2},
        "versions": {"relayscope": {"commit": "abc1234"}},
    }
    return sustainreport.build(
        options=_options(duration, tmp_path),
        facts=facts,
        rate=2000.0,
        found=None,
        ramp=[],
        fixed={"steps": [step]},
        series=series,
        idle_rss=120.0,
        drain_s=1.0,
        answered=int(2000 * duration),
        lost=lost,
        rows_before=0,
        rows_after=int(2000 * duration) - lost,
        calibration_us=60.0,
        loadavg=((1.0, 1.0, 1.0), (2.0, 2.0, 2.0)),
    )


def test_a_short_run_is_labelled_and_never_judged_with_the_full_runs(tmp_path: Path) -> None:
    short = _result(
        120.0, tmp_path, [100, 300, 200, 250, 5_000, 150, 120, 90, 80, 70, 60, 50, 40], 0
    )
    _json, md = sustainreport.write(short, tmp_path)
    assert "SHORT VALIDATION RUN (120 s" in md.read_text()
    full = _result(1800.0, tmp_path, [100] * 181, 2)
    sustainreport.write(full, tmp_path)

    goals = {g["goal"]: g["status"] for g in short["goals"]}
    assert goals == {
        "records/s sustained >= 2,000": "met",
        "queue depth bounded (second half)": "met",  # the 5,000 was in the first half
        "RSS <= 200 MiB": "met",
        "no record lost (by id)": "met",
    }
    kept = history.load(tmp_path, sustainreport.HISTORY_FILE)
    assert [e["kind"] for e in kept] == ["short validation run", "full"]
    full_runs = history.same_commit(kept, "abc1234", "sustainload/sqlite/full")
    verdicts = {v.goal: v.describe() for v in history.judge(full_runs)}
    assert verdicts["no record lost (by id)"] == "met in 0 of 1 run"
    assert kept[1]["calibration_us"] == 60.0 and kept[1]["loadavg_before"] == [1.0, 1.0, 1.0]
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.history",
            "--results-dir",
            str(tmp_path),
            "--file",
            sustainreport.HISTORY_FILE,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "sustainload/sqlite/validation-120s" in printed and "met in 0 of 1 run" in printed


def test_a_kept_alive_connection_the_server_closed_is_retried_on_a_fresh_one() -> None:
    """The gateway closes idle keep-alive connections; the request sent on one never
    reached it, so the load sends it again instead of counting a failure."""
    import asyncio

    from bench.sustainload import Connections, StepFigures, exchange

    answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nhelicone-id: abc\r\n\r\nok"

    async def one_answer_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()  # as an idle timeout would, without saying so in the answer

    async def scenario() -> tuple[StepFigures, list[int]]:
        server = await asyncio.start_server(one_answer_then_close, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = Connections("127.0.0.1", port, 4)
        step = StepFigures(1.0, 1.0)
        statuses = []
        async with server:
            for _ in range(2):
                raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                conn, (status, _size, _alive, _rid) = await exchange(pool, raw, step, 5)
                statuses.append(status)
                pool.give_back(conn)
            await pool.close()
        return step, statuses

    step, statuses = asyncio.run(scenario())
    assert statuses == [200, 200]
    assert step.stale_retries == 1 and step.failed == 0
