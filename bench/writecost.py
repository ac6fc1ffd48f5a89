"""`python -m bench.writecost`: where the SQLite log writer's time goes, as the store grows.

The store's batch insert (``SqlStore._insert_sqlite``, what the log writer's SQLite
thread runs) is called directly, in this process, on batches of realistic records
(`relayscope.testing.seed`'s mix, with prompt and answer texts of 100 B to 16 KB),
into a fresh database per variant:

- ``full``: the store as the gateway runs it;
- ``no-fts``: without the trigger that feeds the full-text index;
- ``no-indexes``: without the secondary indexes on ``requests``;
- ``no-rollups``: without the rollup write hook;
- ``no-checkpoint``: ``wal_autocheckpoint=0``, so no commit pays for a checkpoint;
- ``cache-16m``: a 16 MiB page cache on the batch connection (SQLite's default is 2 MiB);
- ``checkpoint-10k``: a WAL checkpoint every 10,000 pages instead of 1,000;
- ``steps-aside``: ``full`` with the GIL pauses on (``relayscope.gil``), as the writer
  runs while it keeps up; every other variant runs as the writer does once it falls
  behind (no pauses), so it shows the work alone.

Each reports wall and CPU µs a record per slice of rows, so a cost that grows with
the store shows. With ``--profile``, the ``full`` variant runs once more under cProfile
and its time is split into the insert's phases: id lookup, binding, the
``INSERT`` statements (table, indexes and FTS, in SQLite), rollups and commit (WAL
checkpoints included). Results: `writecost.{json,md}` in the results directory.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import json
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench import output
from bench.load import BENCH_DIR
from bench.stats import median
from relayscope import gil
from relayscope.record import LogRecord
from relayscope.store.sql import SqlStore
from relayscope.testing import seed

VARIANTS = (
    "full",
    "no-fts",
    "no-indexes",
    "no-rollups",
    "no-checkpoint",
    "cache-16m",
    "checkpoint-10k",
    "cache-16m+checkpoint-10k",
    "steps-aside",
)
PRAGMAS = {
    "no-checkpoint": "PRAGMA wal_autocheckpoint=0",
    "checkpoint-10k": "PRAGMA wal_autocheckpoint=10000",
    "cache-16m": "PRAGMA cache_size=-16384",
}
"""Settings a variant puts on the batch connection (``+`` combines them)."""


def realistic(records: Iterator[LogRecord], rng: random.Random) -> Iterator[LogRecord]:
    """The seed's records with bodies of the sizes a gateway sees (unique words)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(4_000)]
    for record in records:
        roll = rng.random()
        words = (
            rng.randint(15, 90)
            if roll < 0.7
            else rng.randint(90, 600)
            if roll < 0.95
            else rng.randint(600, 2_300)
        )
        prompt = " ".join(rng.choices(vocabulary, k=words))
        answer = " ".join(rng.choices(vocabulary, k=rng.randint(10, 120)))
        body = {"model": record.request_model, "messages": [{"role": "user", "content": prompt}]}
        reply = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
        yield dataclasses.replace(
            record,
            request_body=json.dumps(body),
            response_body=json.dumps(reply) if record.status == 200 else None,
        )


async def _fresh_store(path: Path, variant: str) -> tuple[SqlStore, str]:
    store = SqlStore(f"sqlite:///{path}")
    await store.migrate()
    org = await store.ensure_org("writecost")
    with closing(sqlite3.connect(path)) as db:
        if variant == "no-fts":
            db.execute("DROP TRIGGER requests_fts_insert")
        if variant == "no-indexes":
            names = [
                row[0]
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'requests' AND sql IS NOT NULL"
                )
            ]
            for name in names:
                db.execute(f'DROP INDEX "{name}"')
        db.commit()
    if variant == "no-rollups":
        store.write_hooks = []
    pragma = {
        "no-checkpoint": "PRAGMA wal_autocheckpoint=0",
        "cache-16m": "PRAGMA cache_size=-16384",
    }
    if variant in pragma:
        statement = pragma[variant]

        def tune(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(statement)

        event.listen(store._batch_engine, "connect", tune)
    return store, org.id


def measure(
    variant: str, rows: int, batch: int, slice_rows: int, workdir: Path, profile: bool
) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{variant}.db"
    store, org_id = asyncio.run(_fresh_store(path, variant))
    rng = random.Random(27)
    source = realistic(
        seed.records(org_id, rows, days=1, end=datetime.now(UTC), seed=27, users=5_000), rng
    )
    gil.keep_up(variant == "steps-aside")
    profiler = cProfile.Profile() if profile else None
    slices: list[dict[str, Any]] = []
    wall = cpu = 0.0
    done = in_slice = 0
    pending: list[LogRecord] = []
    for record in source:
        pending.append(record)
        if len(pending) < batch and done + len(pending) < rows:
            continue
        started, started_cpu = time.perf_counter(), time.thread_time()
        if profiler is not None:
            profiler.enable()
        store._insert_sqlite(pending)
        if profiler is not None:
            profiler.disable()
        wall += time.perf_counter() - started
        cpu += time.thread_time() - started_cpu
        done += len(pending)
        in_slice += len(pending)
        pending = []
        if in_slice >= slice_rows or done >= rows:
            slices.append(
                {
                    "rows": done,
                    "wall_us_per_record": round(wall * 1e6 / in_slice, 1),
                    "cpu_us_per_record": round(cpu * 1e6 / in_slice, 1),
                    "db_mib": round(_db_bytes(path) / 2**20, 1),
                }
            )
            wall = cpu = 0.0
            in_slice = 0
    gil.keep_up(True)
    asyncio.run(store.close())
    result: dict[str, Any] = {"variant": variant, "slices": slices}
    for figure in ("wall_us_per_record", "cpu_us_per_record"):
        result[figure] = round(median([s[figure] for s in slices]) or 0.0, 1)
    if profiler is not None:
        result["phases"] = phases(pstats.Stats(profiler), rows)
    return result


def _db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _find(stats: dict[Any, Any], match: Callable[[tuple[str, int, str]], bool]) -> list[Any]:
    return [key for key in stats if match(key)]


def phases(profile: pstats.Stats, rows: int) -> dict[str, float]:
    """µs a record per phase of ``_insert_sqlite`` (cumulative times, by caller)."""
    stats: dict[Any, Any] = profile.stats  # type: ignore[attr-defined]

    def cumulative(name: str, file_part: str = "") -> float:
        keys = _find(stats, lambda k: k[2] == name and file_part in k[0])
        return float(sum(stats[k][3] for k in keys))

    def called_from(callee: str, caller: str) -> float:
        total = 0.0
        for key in _find(stats, lambda k: callee in k[2]):
            for caller_key, figures in stats[key][4].items():
                if caller_key[2] == caller:
                    total += figures[3]
        return total

    total = cumulative("_insert_sqlite")
    parts = {
        "lookup (ids already stored)": cumulative("_sqlite_owners"),
        "binding (values to SQL)": cumulative("_sqlite_row"),
        "INSERT (table, indexes, FTS)": called_from(
            "execute' of 'sqlite3.Cursor", "_insert_sqlite"
        ),
        "rollups": cumulative("apply", "rollup"),
        "commit (WAL checkpoints)": cumulative("do_commit", "sqlalchemy"),
        "fetching inserted keys": called_from("fetchall' of 'sqlite3.Cursor", "_insert_sqlite"),
    }
    parts["other"] = total - sum(parts.values())
    parts["total"] = total
    return {k: round(v * 1e6 / rows, 1) for k, v in parts.items()}


def markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "# Where the SQLite log writer's time goes",
        "",
        f"{result['timestamp']}, {result['rows']:,} records in batches of {result['batch']}, "
        f"load average before {result['loadavg_before']}. µs a record in "
        "`SqlStore._insert_sqlite`, median over slices of "
        f"{result['slice_rows']:,} rows (the first and last slice show growth with the store).",
        "",
        "| Variant | Wall µs/record | CPU µs/record | Saved vs full (wall) "
        "| First → last slice (wall) |",
        "|---|---|---|---|---|",
    ]
    full = next(v for v in result["variants"] if v["variant"] == "full")
    profiled = next((v for v in result["variants"] if v["variant"] == "full (cProfile)"), None)
    for v in result["variants"]:
        if v is profiled:
            continue
        saved = full["wall_us_per_record"] - v["wall_us_per_record"]
        first, last = v["slices"][0], v["slices"][-1]
        lines.append(
            f"| {v['variant']} | {v['wall_us_per_record']} | {v['cpu_us_per_record']} "
            f"| {saved:+.1f} | {first['wall_us_per_record']} → {last['wall_us_per_record']} "
            f"(at {last['rows']:,} rows, {last['db_mib']} MiB) |"
        )
    if profiled is not None:
        lines += [
            "",
            "Phases of the `full` variant under cProfile (µs a record; the profiler adds its "
            "own cost to the Python parts):",
            "",
            "| Phase | µs/record |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in profiled["phases"].items()]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.writecost", description=__doc__)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=500, help="records a batch (the writer's 500)")
    ap.add_argument("--slice", type=int, default=50_000, help="rows a reported slice")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--profile", action="store_true", help="cProfile the full variant")
    ap.add_argument("--results-dir", type=Path, default=BENCH_DIR / "results")
    a = ap.parse_args(argv)
    loadavg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    variants = []
    with tempfile.TemporaryDirectory(prefix="relayscope-writecost-") as tmp:
        for i, variant in enumerate(a.variants.split(",")):
            print(f"[writecost] {variant}: {a.rows:,} records", flush=True)
            variants.append(measure(variant, a.rows, a.batch, a.slice, Path(tmp) / str(i), False))
        if a.profile:
            print("[writecost] full, under cProfile", flush=True)
            profiled = measure("full", a.rows, a.batch, a.slice, Path(tmp) / "profiled", True)
            variants.append({**profiled, "variant": "full (cProfile)"})
    result = {
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": a.rows,
        "batch": a.batch,
        "slice_rows": a.slice,
        "loadavg_before": loadavg,
        "loadavg_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "variants": variants,
    }
    _json, md = output.write(a.results_dir, "writecost", result, "\n".join(markdown(result)))
    print(md.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
