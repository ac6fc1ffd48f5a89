"""The bench starts its gateways with the test suite's ``GatewayProcess``: on loopback,
with a data dir of the run's own, and nothing of it left once the run's stack closes."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from bench.gateway import create_key, serve
from bench.procs import StartError

from relayscope.testing.waiting import wait_until

GATEWAY = [sys.executable, "-m", "relayscope"]


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.e2e
def test_serve_runs_workers_in_the_run_dir_and_the_stack_stops_them_all(tmp_path: Path) -> None:
    env = {"RELAYSCOPE_DATABASE_URL": f"sqlite:///{tmp_path}/relayscope.db"}
    with ExitStack() as stack:
        served = serve(stack, GATEWAY, env, tmp_path, workers=2)
        key = create_key(GATEWAY, env, tmp_path, served=served)
        answer = httpx.get(
            f"{served.url}/api/requests", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        assert served.url.startswith("http://127.0.0.1:") and served.ready_s > 0
        # Its spool and journal are the run's, never the user's data dir.
        assert served.gateway.env["RELAYSCOPE_DATA_DIR"] == str(tmp_path / "relayscope-data")
        assert (tmp_path / "relayscope.log").exists()
        group = served.pid
        assert not _group_gone(group)
    assert served.gateway.returncode is not None
    # Killed members are gone once reaped (they were the gateway's children).
    wait_until(lambda: _group_gone(group), timeout=10)


def test_a_gateway_that_exits_at_start_is_a_start_error_with_its_output(tmp_path: Path) -> None:
    broken = [sys.executable, "-c", "print('no gateway here'); raise SystemExit(3)"]
    with ExitStack() as stack, pytest.raises(StartError, match="exited") as raised:
        serve(stack, broken, {}, tmp_path, ready_s=30)
    assert "no gateway here" in str(raised.value)
