"""A spill that fails (a full disk) leaves no partial file behind, and loses nothing.

The disk is made to fill the way the kernel reports it: in a child process whose
file-size limit (RLIMIT_FSIZE) lets each file grow to 1 KiB only, every spool write
past that fails with EFBIG in ``write(2)``, inside the real spill code. Before the
fix each failed spill left its ``.partial`` file; the records must be held in memory
and spooled once the disk takes them again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import asyncio, json, resource, signal, sys, uuid
from datetime import UTC, datetime
from pathlib import Path

from relayscope.record import LogRecord
from relayscope.logs.spool import Spool
from relayscope.logs.writer import LogWriter
from relayscope.store.base import StoreUnavailable
from relayscope.testing.waiting import async_wait_until


class DownStore:
    async def insert_requests(self, records):
        raise StoreUnavailable("store is down")


def record():
    return LogRecord(
        id=str(uuid.uuid4()), org_id="o", created_at=datetime.now(UTC), provider="openai",
        path="/v1/chat/completions", status=200, latency_ms=1.0, response_body="x" * 300,
    )


def listing(directory):
    return sorted(p.suffix for p in directory.iterdir())


async def main(directory):
    spool = Spool(directory)
    directory.mkdir()
    writer = LogWriter(
        DownStore(), spool, flush_interval=0.01, write_timeout=0.2, retry_interval=0.05
    )
    writer.start()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG from write(2), not a signal
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    for round in range(1, 4):
        for _ in range(10):
            writer.submit(record)

        async def failed(round=round):
            return writer.stats.spool_errors >= round and writer.queue_depth == 10 * round

        await async_wait_until(failed, timeout=10)
    during = listing(directory)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    async def spooled():
        return writer.queue_depth == 0

    await async_wait_until(spooled, timeout=10)
    await writer.close()
    after = listing(directory)
    count = sum(len(Spool.read(p)) for p in spool.pending())
    print(json.dumps({"during": during, "after": after, "spooled": count,
                      "errors": writer.stats.spool_errors}))


asyncio.run(main(Path(sys.argv[1])))
"""


def test_a_failed_spill_leaves_no_partial_file_and_loses_no_record(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(spool)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] >= 3  # the disk refused each spill
    assert result["during"] == [], f"files left by failed spills: {result['during']}"
    assert ".partial" not in result["after"]
    assert set(result["after"]) == {".jsonl"} and result["spooled"] == 30
