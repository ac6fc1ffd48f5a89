"""Dockerfile, docker-compose.yml and the nginx config, checked without a Docker engine.

The compose file is parsed and checked against the settings the gateway reads; the
gateway command it runs is started here; the nginx config balances two real
replicas in front of the same Postgres.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from relayscope.config import reference
from relayscope.testing.orgs import create_org
from relayscope.testing.process import clean_env, fake_provider_env, free_port
from relayscope.testing.stores import stored_ids
from relayscope.testing.waiting import wait_until

ROOT = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
NGINX_CONF = (ROOT / "deploy" / "nginx.conf").read_text()
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
SETTINGS = {name for name, _value, _help in reference()}


def gateways() -> dict[str, dict]:
    return {n: s for n, s in COMPOSE["services"].items() if n.startswith("gateway-")}


def test_compose_runs_two_gateways_postgres_redis_nginx_and_optional_clickhouse():
    services = COMPOSE["services"]
    assert len(gateways()) == 2
    assert {"postgres", "redis", "nginx", "clickhouse"} <= set(services)
    assert services["clickhouse"]["profiles"] == ["clickhouse"]
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name in [*gateways(), "postgres", "redis", "clickhouse"]:
        assert services[name].get("volumes"), f"{name} keeps no volume"
    for name, gateway in gateways().items():
        env = gateway["environment"]
        assert env["RELAYSCOPE_DATABASE_URL"].startswith("postgresql://")
        assert "@postgres:5432/" in env["RELAYSCOPE_DATABASE_URL"]
        assert env["RELAYSCOPE_REDIS_URL"] == "redis://redis:6379/0"
        unknown = {k for k in env if k.startswith("RELAYSCOPE_")} - SETTINGS
        assert not unknown, f"{name} sets variables the gateway does not read: {unknown}"
        assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
        assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    nginx = services["nginx"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    upstreams = set(re.findall(r"server (gateway-\d+):8787", NGINX_CONF))
    assert upstreams == set(gateways())


def test_image_is_slim_non_root_and_runs_relayscope_serve():
    assert re.search(r"^FROM python:3\.\d+-slim$", DOCKERFILE, re.M)
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["relayscope"]' in DOCKERFILE
    assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8787"]' in DOCKERFILE
    assert "/readyz" in DOCKERFILE and "EXPOSE 8787" in DOCKERFILE
    for gateway in gateways().values():
        assert gateway["command"] == ["serve", "--host", "0.0.0.0", "--port", "8787"]


@pytest.mark.e2e
def test_the_compose_gateway_command_starts_a_gateway(tmp_path, fake_server, store_url):
    """The image runs ``relayscope <command>``: the same CLI the tests run, with these args."""
    port = free_port()
    command = [a if a != "8787" else str(port) for a in gateways()["gateway-1"]["command"]]
    env = {
        **clean_env(),
        **fake_provider_env(fake_server.url),
        "RELAYSCOPE_DATA_DIR": str(tmp_path),
        "RELAYSCOPE_DATABASE_URL": store_url,
    }
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "relayscope", *command], env=env, stdout=log, stderr=log
    )
    try:

        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=30, interval=0.05)
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on this machine")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the docker client here has no compose plugin: {probe.stderr.strip()}")
    result = subprocess.run(
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def balancer(e2e_process, tmp_path, replicas):
    """deploy/nginx.conf, pointed at two replicas on loopback, run by a real nginx."""
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None:
        pytest.skip("nginx is not installed on this machine")
    group = replicas(env={"RELAYSCOPE_KEY_CACHE_TTL": "60"})
    port = free_port()
    conf = NGINX_CONF.replace("listen 8787;", f"listen 127.0.0.1:{port};")
    for n, replica in enumerate(group, start=1):
        conf = conf.replace(f"server gateway-{n}:8787", f"server 127.0.0.1:{replica.port}")
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    (prefix / "nginx.conf").write_text(conf)
    directives = f"daemon off; pid {prefix}/nginx.pid; error_log {prefix}/error.log;"
    process = subprocess.Popen(
        [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", directives],
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, (prefix / "error.log").read_text()
        try:
            return httpx.get(f"{url}/nginx-health").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=10)
    yield url, group
    process.terminate()
    process.wait(10)


def test_nginx_spreads_requests_over_replicas_and_skips_a_stopped_one(balancer):
    url, group = balancer
    org = create_org(group.store_url)
    pids: set[int] = set()
    sent: list[str] = []
    with httpx.Client(base_url=url, headers=org.auth, timeout=10) as client:

        def both_replicas_answered() -> bool:
            pids.add(client.get("/readyz").json()["pid"])
            return len(pids) == 2

        wait_until(both_replicas_answered, timeout=10, interval=0)
        for _ in range(4):
            response = client.post("/openai/v1/chat/completions", json=CHAT)
            assert response.status_code == 200
            sent.append(response.headers["helicone-id"])
        with client.stream(
            "POST", "/openai/v1/chat/completions", json={**CHAT, "stream": True}
        ) as stream:
            assert b"data: [DONE]" in b"".join(stream.iter_bytes())
            sent.append(stream.headers["helicone-id"])

        group[0].stop()
        for _ in range(6):  # every request lands on the replica still running
            response = client.post("/openai/v1/chat/completions", json=CHAT)
            assert response.status_code == 200
            sent.append(response.headers["helicone-id"])
    wait_until(lambda: stored_ids(group.store_url, org.org_id) == set(sent), timeout=10)
