"""Child-process helpers: free ports, readiness polling, clean shutdown, RSS."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

from relayscope.testing.process import free_port as free_port  # the test suite's, re-exported
from relayscope.testing.waiting import wait_until as testing_wait_until

HOST = "127.0.0.1"
"""Every process the bench starts listens on loopback only."""


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so a stopped run still stops what it started."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


class StartError(RuntimeError):
    """A child process exited or never became ready."""


def tail(path: Path, max_bytes: int = 2000) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


class Managed:
    """A child process in its own session, with output going to a log file.

    Stopping signals the whole session (process group) so that worker children of
    a multi-process server go too; a pipe is never used for output so a chatty
    child can never block on a full pipe.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise StartError(
                f"{self.name} exited with code {self.proc.returncode}:\n{tail(self.log_path)}"
            )

    def output(self) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._signal(signal.SIGKILL)  # stragglers left in the group after the leader exited
        self._log.close()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


def wait_until(
    check: Callable[[], bool],
    deadline_s: float,
    what: str,
    proc: Managed | None = None,
    interval: float = 0.05,
) -> float:
    """Poll `check` until true (``relayscope.testing``'s wait); returns the seconds
    waited. A child that exits meanwhile, or the deadline, raises StartError with its log."""
    start = time.monotonic()

    def ready() -> bool:
        if proc is not None:
            proc.check_alive()
        return check()

    try:
        testing_wait_until(ready, timeout=deadline_s, interval=interval)
    except AssertionError:
        log = f"\n{tail(proc.log_path)}" if proc is not None else ""
        raise StartError(f"timed out after {deadline_s:.0f}s waiting for {what}{log}") from None
    return time.monotonic() - start


def tcp_ready(host: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


def http_ready(url: str, expect_status: int = 200) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bool(resp.status == expect_status)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return check


def _parent_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # the command name may contain spaces and parentheses: split after the last ')'
            fields = stat.read_text().rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return kids


def tree_pids(pid: int) -> list[int]:
    kids = _parent_map()
    seen: list[int] = []
    stack = [pid]
    while stack:
        p = stack.pop()
        if p not in seen:
            seen.append(p)
            stack += kids.get(p, [])
    return seen


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU used so far by a process and its descendants (uvicorn workers included)."""
    return sum(cpu_seconds(p) for p in tree_pids(pid))


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (e.g. uvicorn workers)."""
    return sum(rss_bytes(p) for p in tree_pids(pid)) / (1024 * 1024)
