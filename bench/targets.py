"""The measured targets: how to start each one and where to send requests."""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.gateway import Served, create_key, launch, serve
from bench.http1 import Endpoint
from bench.procs import (
    HOST,
    Managed,
    StartError,
    free_port,
    http_ready,
    tcp_ready,
    wait_until,
)
from bench.provision import Tools
from bench.report import NO_JOURNAL

JSON = {"Content-Type": "application/json"}
FAKE_PROVIDER_KEY = "sk-fake"


@dataclass
class Running:
    endpoint: Endpoint
    rss_pid: int | None
    count_records: Callable[[], int | None] | None = None
    stored_ids: Callable[[], set[str] | None] | None = None
    """Every request id in the target's store (None: cannot be read right now)."""
    startup_s: float = 0.0
    extra_rss_pids: tuple[int, ...] = ()
    database_url: str | None = None
    """The gateway's store (RelayScope targets)."""


@dataclass
class Context:
    tools: Tools
    upstream_port: int
    upstream_pid: int

    @property
    def upstream_base(self) -> str:
        return f"http://{HOST}:{self.upstream_port}"


class Target:
    name = ""
    description = ""

    def skip_reason(self, tools: Tools) -> str | None:
        return None

    def start(self, ctx: Context, rundir: Path, stack: ExitStack) -> Running:
        raise NotImplementedError


class Direct(Target):
    name = "direct"
    description = "client -> upstream (the floor)"

    def start(self, ctx: Context, rundir: Path, stack: ExitStack) -> Running:
        headers = {**JSON, "Authorization": f"Bearer {FAKE_PROVIDER_KEY}"}
        return Running(
            Endpoint(HOST, ctx.upstream_port, "/v1/chat/completions", headers), ctx.upstream_pid
        )


NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream bench_upstream {{
        {servers}
        keepalive 64;
    }}
    server {{
        listen {host}:{port} backlog=4096;
        location / {{
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


def nginx_conf(rundir: Path, port: int, backends: list[int]) -> str:
    """The nginx config for one listener balancing (round robin) over `backends` ports."""
    servers = "\n        ".join(f"server {HOST}:{b};" for b in backends)
    return NGINX_CONF.format(d=rundir, host=HOST, port=port, servers=servers)


def start_nginx(
    ctx: Context, rundir: Path, stack: ExitStack, backends: list[int]
) -> tuple[int, Managed, float]:
    """Start a foreground nginx on a free port; returns (port, process, seconds to listen)."""
    assert ctx.tools.nginx
    port = free_port()
    conf = rundir / "nginx.conf"
    conf.write_text(nginx_conf(rundir, port, backends))
    # -e: the compiled-in error log path would otherwise be opened before the config is read
    argv = [ctx.tools.nginx, "-p", str(rundir), "-c", str(conf), "-e", str(rundir / "error.log")]
    proc = launch(stack, "nginx", argv, rundir)
    waited = wait_until(tcp_ready(HOST, port), 20, "nginx to listen", proc)
    return port, proc, waited


class Nginx(Target):
    name = "nginx"
    description = "nginx reverse proxy, 1 worker, keepalive upstream, no buffering"

    def skip_reason(self, tools: Tools) -> str | None:
        return None if tools.nginx else tools.notes.get("nginx", "nginx not installed")

    def start(self, ctx: Context, rundir: Path, stack: ExitStack) -> Running:
        port, proc, waited = start_nginx(ctx, rundir, stack, [ctx.upstream_port])
        headers = {**JSON, "Authorization": f"Bearer {FAKE_PROVIDER_KEY}"}
        return Running(
            Endpoint(HOST, port, "/v1/chat/completions", headers), proc.pid, startup_s=waited
        )


def _sqlite_counter(path: Path) -> Callable[[], int | None]:
    def count() -> int | None:
        if not path.exists():
            return None
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            ) as db:
                return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])
        except sqlite3.Error:
            return None

    return count


def _sqlite_ids(path: Path) -> Callable[[], set[str] | None]:
    def ids() -> set[str] | None:
        if not path.exists():
            return None
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            ) as db:
                return {str(row[0]) for row in db.execute("SELECT id FROM requests")}
        except sqlite3.Error:
            return None

    return ids


def _psql(psql: str, db: str, sql: str, timeout: float = 30) -> str:
    proc = subprocess.run(
        [psql, "-h", HOST, "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-tAc", sql],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise StartError(f"psql failed: {proc.stderr.strip()[:300]}")
    return proc.stdout.strip()


def _postgres_counter(psql: str, db: str) -> Callable[[], int | None]:
    def count() -> int | None:
        try:
            return int(_psql(psql, db, "SELECT count(*) FROM requests", 10))
        except (StartError, ValueError, subprocess.TimeoutExpired):
            return None

    return count


def _postgres_ids(psql: str, db: str) -> Callable[[], set[str] | None]:
    def ids() -> set[str] | None:
        try:
            return set(_psql(psql, db, "SELECT id FROM requests", 60).split())
        except (StartError, subprocess.TimeoutExpired):
            return None

    return ids


REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_cleanup(prefix: str) -> None:
    """Delete every key under `prefix` (the bench's own, unique per run)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    finally:
        client.close()


def _redis_reason() -> str | None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"Redis at {REDIS_URL} not usable: {exc}"
    return None


class RelayScope(Target):
    def __init__(
        self,
        name: str,
        workers: int = 1,
        postgres: bool = False,
        *,
        headers: dict[str, str] | None = None,
        redis: bool = False,
        feature: str = "",
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        """Runs another checkout's gateway (``--baseline``); None: the tools' own."""
        self.extra_env = env or {}
        self.workers = workers
        self.postgres = postgres
        self.headers = headers or {}
        self.redis = redis
        store = "PostgreSQL" if postgres else "SQLite"
        self.description = (
            f"RelayScope, {workers} worker(s), full pipeline (auth, tags, cost, {store} log)"
        )
        if feature:
            where = f"Redis ({REDIS_URL}, unique prefix)" if redis else "in-process"
            self.description += f" + {feature}, {where}"
        self._seq = 0

    def skip_reason(self, tools: Tools) -> str | None:
        if not tools.relayscope:
            return tools.notes.get("relayscope", "RelayScope gateway not available")
        if self.postgres and not tools.psql:
            return "psql not found: cannot create a fresh PostgreSQL database"
        if self.redis:
            return _redis_reason()
        return None

    def _database(
        self, ctx: Context, rundir: Path, stack: ExitStack
    ) -> tuple[str, Callable[[], int | None], Callable[[], set[str] | None]]:
        if not self.postgres:
            path = rundir / "relayscope.db"
            return f"sqlite:///{path}", _sqlite_counter(path), _sqlite_ids(path)
        assert ctx.tools.psql
        psql = ctx.tools.psql
        self._seq += 1
        db = f"relayscope_bench_{os.getpid()}_{self._seq}_{secrets.token_hex(3)}"
        _psql(psql, "postgres", f'CREATE DATABASE "{db}"')
        stack.callback(_psql, psql, "postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        url = f"postgresql://postgres@{HOST}:5432/{db}"
        return url, _postgres_counter(psql, db), _postgres_ids(psql, db)

    def start(self, ctx: Context, rundir: Path, stack: ExitStack) -> Running:
        cmd = self.command or ctx.tools.relayscope
        assert cmd is not None
        url, counter, ids = self._database(ctx, rundir, stack)
        env = self._env(ctx, url, stack, rundir)
        try:
            served = serve(stack, cmd, env, rundir, workers=self.workers)
        except StartError as exc:
            if self.postgres:
                raise StartError(f"gateway rejected or failed on {url}: {exc}") from exc
            raise
        port, waited = served.port, served.ready_s
        key = create_key(cmd, env, rundir, served=served)
        headers = {
            **JSON,
            "Authorization": f"Bearer {FAKE_PROVIDER_KEY}",
            "Helicone-Auth": f"Bearer {key}",
            "Helicone-User-Id": "bench-user",
            "Helicone-Property-Feature": "bench",
            **self.headers,
        }
        return Running(
            Endpoint(HOST, port, "/openai/v1/chat/completions", headers),
            served.pid,
            count_records=counter,
            stored_ids=ids,
            startup_s=waited,
            database_url=url,
        )

    def _env(self, ctx: Context, url: str, stack: ExitStack, rundir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYSCOPE_REDIS")}
        env.update(
            {
                "RELAYSCOPE_DATABASE_URL": url,
                "RELAYSCOPE_OPENAI_BASE_URL": ctx.upstream_base,
                # The run's own spool and journal: in the user's data dir, records a
                # stopped gateway left there were replayed into the next run's store.
                "RELAYSCOPE_DATA_DIR": str(rundir / "data"),
            }
        )
        if self.redis:
            prefix = f"relayscope-bench-{os.getpid()}-{secrets.token_hex(4)}:"
            env.update({"RELAYSCOPE_REDIS_URL": REDIS_URL, "RELAYSCOPE_REDIS_PREFIX": prefix})
            stack.callback(_redis_cleanup, prefix)
        env.update(self.extra_env)
        return env


class RelayScopeReplicas(RelayScope):
    """Two `relayscope serve` processes on one fresh Postgres database behind nginx."""

    def __init__(self, name: str, replicas: int = 2) -> None:
        super().__init__(name, postgres=True)
        self.replicas = replicas
        self.description = (
            f"{replicas} RelayScope processes (1 worker each, full pipeline) sharing one fresh "
            "PostgreSQL database, behind nginx (round robin, keepalive)"
        )

    def skip_reason(self, tools: Tools) -> str | None:
        if not tools.nginx:
            return tools.notes.get("nginx", "nginx not installed")
        return super().skip_reason(tools)

    def start(self, ctx: Context, rundir: Path, stack: ExitStack) -> Running:
        assert ctx.tools.relayscope
        cmd = ctx.tools.relayscope
        url, counter, ids = self._database(ctx, rundir, stack)
        env = self._env(ctx, url, stack, rundir)
        # One after the other: the first applies the migrations to the fresh database.
        served: list[Served] = []
        for i in range(self.replicas):
            served.append(serve(stack, cmd, env, rundir, name=f"relayscope-{i + 1}"))
        waited = sum(s.ready_s for s in served)
        ports = [s.port for s in served]
        key = create_key(cmd, env, rundir, served=served[0])
        lb_port, nginx, nginx_s = start_nginx(ctx, rundir, stack, ports)
        headers = {
            **JSON,
            "Authorization": f"Bearer {FAKE_PROVIDER_KEY}",
            "Helicone-Auth": f"Bearer {key}",
            "Helicone-User-Id": "bench-user",
            "Helicone-Property-Feature": "bench",
        }
        return Running(
            Endpoint(HOST, lb_port, "/openai/v1/chat/completions", headers),
            nginx.pid,
            count_records=counter,
            stored_ids=ids,
            startup_s=waited + nginx_s,
            extra_rss_pids=tuple(s.pid for s in served),
        )


LITELLM_CONFIG = """\
model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: {api_base}
      api_key: {provider_key}
litellm_settings:
  telemetry: false
  callbacks: []
  success_callback: []
  failure_callback: []
"""

# Variables that would make LiteLLM use a database, a cache or a remote logger.
LITELLM_ENV_DROP = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_HOST",
    "LITELLM_MASTER_KEY",
    "STORE_MODEL_IN_DB",
)


class LiteLLM(Target):
    name = "litellm"
    description = "LiteLLM proxy, 1 worker, no DB, master key auth, uvicorn+httptools"

    def skip_reason(self, tools: Tools) -> str | None:
        return None if tools.litellm else tools.notes.get("litellm", "LiteLLM not installed")

    def start(self, ctx: Context, rundir: Path, stack: ExitStack) -> Running:
        assert ctx.tools.litellm
        config = rundir / "litellm.yaml"
        config.write_text(
            LITELLM_CONFIG.format(
                api_base=f"{ctx.upstream_base}/v1", provider_key=FAKE_PROVIDER_KEY
            )
        )
        master_key = "sk-" + secrets.token_hex(24)
        env = {k: v for k, v in os.environ.items() if k not in LITELLM_ENV_DROP}
        env.update(
            {
                "LITELLM_MASTER_KEY": master_key,
                "LITELLM_TELEMETRY": "False",
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_LOG": "ERROR",
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                # Belt and braces against outbound calls: anything not on loopback goes to a
                # dead local port and fails at once.
                "HTTP_PROXY": f"http://{HOST}:9",
                "HTTPS_PROXY": f"http://{HOST}:9",
                "NO_PROXY": "127.0.0.1,localhost",
            }
        )
        port = free_port()
        argv = [
            *ctx.tools.litellm,
            "--config",
            str(config),
            "--host",
            HOST,
            "--port",
            str(port),
            "--num_workers",
            "1",
        ]
        proc = launch(stack, "litellm", argv, rundir, env)
        waited = wait_until(
            http_ready(f"http://{HOST}:{port}/health/liveliness"), 180, "LiteLLM liveliness", proc
        )
        headers = {**JSON, "Authorization": f"Bearer {master_key}"}
        return Running(
            Endpoint(HOST, port, "/v1/chat/completions", headers), proc.pid, startup_s=waited
        )


def all_targets() -> dict[str, Target]:
    targets: list[Target] = [
        Direct(),
        Nginx(),
        RelayScope("relayscope"),
        RelayScope("relayscope-postgres", postgres=True),
        RelayScope("relayscope-w2", workers=2),
        RelayScope(
            NO_JOURNAL,
            env={"RELAYSCOPE_JOURNAL_ENABLED": "false"},
            feature="no crash journal (what the journal costs)",
        ),
        LiteLLM(),
        *feature_targets(),
    ]
    return {t.name: t for t in targets}


CACHE_HEADERS = {"Helicone-Cache-Enabled": "true"}
RATELIMIT_HEADERS = {"Helicone-RateLimit-Policy": "1000000000;w=60"}


def feature_targets() -> list[Target]:
    """The feature scenarios (`--scenarios`): same pipeline plus one feature each.

    Cache: the probe request fills the cache (identical body every time), so every
    measured request is a hit. Rate limit: a policy so large it never refuses.
    """
    return [
        RelayScope("relayscope-cache-hit-memory", headers=CACHE_HEADERS, feature="cache hits"),
        RelayScope(
            "relayscope-cache-hit-redis", headers=CACHE_HEADERS, redis=True, feature="cache hits"
        ),
        RelayScope(
            "relayscope-ratelimit-memory", headers=RATELIMIT_HEADERS, feature="rate-limit policy"
        ),
        RelayScope(
            "relayscope-ratelimit-redis",
            headers=RATELIMIT_HEADERS,
            redis=True,
            feature="rate-limit policy",
        ),
        RelayScopeReplicas("relayscope-2-replicas-nginx"),
    ]
