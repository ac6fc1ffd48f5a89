"""Run ``relayscope serve`` as a real process on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from relayscope.testing.waiting import wait_until


def fake_provider_env(fake_url: str) -> dict[str, str]:
    """Gateway settings that send the tests' providers to the fake provider at ``fake_url``."""
    return {
        "RELAYSCOPE_OPENAI_BASE_URL": fake_url,
        "RELAYSCOPE_ANTHROPIC_BASE_URL": fake_url,
        "RELAYSCOPE_GROQ_BASE_URL": fake_url + "/openai",
        "RELAYSCOPE_GEMINI_BASE_URL": fake_url,
        "RELAYSCOPE_AZURE_BASE_URL": fake_url,
        "RELAYSCOPE_TARGET_ALLOWLIST": fake_url,
        "RELAYSCOPE_KEY_CACHE_TTL": "0.2",
        "RELAYSCOPE_LOG_FLUSH_INTERVAL": "0.05",
    }


def clean_env() -> dict[str, str]:
    """This process's environment without any RELAYSCOPE_ setting (PATH, PYTHONPATH stay)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RELAYSCOPE_")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class GatewayProcess:
    """A gateway subprocess with its own data dir; ``url`` once ``start`` returns.

    The test suite runs this checkout's CLI; the bench passes its own ``command`` (a
    CLI from another checkout, a wrapper such as ``taskset -c 1 relayscope`` or its
    memory sampler), more ``serve`` options in ``args``, and a ``log_path`` and ``cwd``
    in its run directory. ``session`` starts the gateway in a process group of its
    own, and ``stop`` then kills whatever is left in that group (workers, a wrapper's
    children) once the gateway itself has exited.
    """

    def __init__(
        self,
        data_dir: Path,
        env: Mapping[str, str] | None = None,
        *,
        workers: int = 1,
        port: int | None = None,
        command: Sequence[str] = (sys.executable, "-m", "relayscope"),
        args: Sequence[str] = (),
        log_path: Path | None = None,
        cwd: Path | None = None,
        session: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {
            **clean_env(),
            "RELAYSCOPE_DATA_DIR": str(data_dir),
            **(env or {}),
        }
        self.command = list(command)
        self.args = list(args)
        self.log_path = log_path or data_dir / "gateway.log"
        self.cwd = cwd
        self.session = session
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        return self.env.get("RELAYSCOPE_DATABASE_URL") or f"sqlite:///{self.data_dir}/relayscope.db"

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            *self.command,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            *self.args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.session,
            )
        try:
            wait_until(self._ready, timeout=timeout, interval=0.05)
        except BaseException:
            # A gateway that never became ready must not outlive the test.
            self.stop(signal.SIGKILL, timeout=5)
            raise
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request to the gateway, on a connection of its own."""
        return httpx.request(method, f"{self.url}{path}", **{"timeout": 10, **kwargs})

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code once the gateway has exited, else None."""
        return self.process.poll() if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.session:
            # The group is the gateway's pid; it outlives the gateway while members remain.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def requests_by_worker(
    gateway: GatewayProcess, auth: Mapping[str, str], per_worker: int, *, timeout: float
) -> dict[int, list[str]]:
    """Request ids per worker pid, at least ``per_worker`` for each of two or more workers.

    Each new connection is accepted by one worker, which answers both its /readyz
    (naming its pid) and the chat request sent after it.
    """
    by_pid: dict[int, list[str]] = defaultdict(list)
    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

    def enough() -> bool:
        with httpx.Client(base_url=gateway.url, headers=dict(auth), timeout=10) as conn:
            pid = conn.get("/readyz").json()["pid"]
            response = conn.post("/openai/v1/chat/completions", json=chat)
            assert response.status_code == 200
            by_pid[pid].append(response.headers["helicone-id"])
        return len(by_pid) >= 2 and all(len(ids) >= per_worker for ids in by_pid.values())

    wait_until(enough, timeout=timeout, interval=0)
    return by_pid
