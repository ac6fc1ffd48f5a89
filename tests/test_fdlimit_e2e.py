"""``relayscope serve`` raises its file-descriptor soft limit to the hard one, and says so:
each open stream holds two descriptors, so a soft limit of 1,024 would cap a worker near
500 streams whatever else is configured."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from relayscope.testing.process import clean_env, free_port
from relayscope.testing.waiting import wait_until

LOWERED = 256


def _soft_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError("no open-files line in /proc/PID/limits")


def _lowered() -> None:  # in the child, before it runs the gateway
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOWERED, hard))


@pytest.mark.e2e
def test_serve_raises_the_soft_fd_limit_to_the_hard_limit(tmp_path: Path):
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= LOWERED:
        pytest.skip(f"the hard limit ({hard}) leaves nothing to raise to")
    port = free_port()
    log_path = tmp_path / "gateway.log"
    env = {**clean_env(), "RELAYSCOPE_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "relayscope", "serve", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_lowered
        )
    try:

        def ready() -> bool:
            assert process.poll() is None, log_path.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=60, interval=0.05)
        assert _soft_limit(process.pid) == hard
        assert f"soft limit raised from {LOWERED} to {hard}" in log_path.read_text()
    finally:
        process.terminate()
        process.wait(30)
