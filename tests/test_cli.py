"""The ``relayscope`` command on fresh and existing stores (each backend)."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest

from relayscope.testing.process import GatewayProcess, clean_env, fake_provider_env
from relayscope.testing.stores import store_contents

pytestmark = pytest.mark.e2e

KEY = re.compile(r"sk-relayscope-[A-Za-z0-9_-]{20,}")


def cli(
    tmp_path, store_url: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {
        "RELAYSCOPE_DATA_DIR": str(tmp_path),
        "RELAYSCOPE_DATABASE_URL": store_url,
        **clean_env(),
    }
    return subprocess.run(
        [sys.executable, "-m", "relayscope", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        timeout=60,
    )


def test_keys_create_list_revoke_on_a_fresh_store(tmp_path, store_url):
    created = cli(tmp_path, store_url, "keys", "create", "--org", "acme")
    key = created.stdout.strip().splitlines()[-1]
    assert KEY.fullmatch(key)

    listing = cli(tmp_path, store_url, "keys", "list", "--org", "acme").stdout
    key_id = listing.split()[0]
    assert key[:18] in listing and "active" in listing
    assert key not in listing, "the full key is shown once, at creation only"

    assert "revoked" in cli(tmp_path, store_url, "keys", "revoke", key_id).stdout
    assert "revoked" in cli(tmp_path, store_url, "keys", "list", "--org", "acme").stdout
    again = cli(tmp_path, store_url, "keys", "revoke", key_id, check=False)
    assert again.returncode != 0 and "no active key" in again.stderr


def test_keys_are_stored_only_as_hashes(tmp_path, store_url):
    created = cli(tmp_path, store_url, "keys", "create", "--org", "acme")
    key = created.stdout.strip().splitlines()[-1]
    contents = store_contents(store_url)
    assert b"acme" in contents, "the contents should hold the org the key was made for"
    assert key.encode() not in contents


def test_listing_an_unknown_org_fails_clearly(tmp_path, store_url):
    result = cli(tmp_path, store_url, "keys", "list", "--org", "nobody", check=False)
    assert result.returncode != 0 and "no org named 'nobody'" in result.stderr


def test_first_serve_creates_a_default_key_once(tmp_path, fake_server, store_url):
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_DATABASE_URL": store_url}
    with GatewayProcess(tmp_path, env) as first:
        keys = KEY.findall(first.log())
        assert len(keys) == 1
        response = httpx.post(
            f"{first.url}/openai/v1/chat/completions",
            headers={"Helicone-Auth": f"Bearer {keys[0]}"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert response.status_code == 200
        assert httpx.get(f"{first.url}/healthz").json() == {"status": "ok"}
    with GatewayProcess(tmp_path, env):
        assert KEY.findall(first.log()) == keys, "a second start must not mint another key"


def test_version_prints_the_installed_version(tmp_path):
    from importlib.metadata import version

    # Printing the version reads no store: one backend is enough.
    result = cli(tmp_path, f"sqlite:///{tmp_path}/relayscope.db", "--version")
    assert result.stdout.strip() == f"relayscope {version('relayscope')}"


def test_config_shows_each_providers_effective_upstream(tmp_path):
    # Showing the configuration reads no store: one backend is enough.
    env = {
        "RELAYSCOPE_DATA_DIR": str(tmp_path),
        "RELAYSCOPE_OLLAMA_BASE_URL": "http://gpu-box:11434/v1",
        **clean_env(),
    }
    shown = subprocess.run(
        [sys.executable, "-m", "relayscope", "config"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "RELAYSCOPE_PROVIDER_BASE_URLS" not in shown, "no such variable exists"
    assert "RELAYSCOPE_OLLAMA_BASE_URL=http://gpu-box:11434\n" in shown
    assert "/ollama/v1/... -> http://gpu-box:11434/v1/..." in shown
    assert "RELAYSCOPE_OPENAI_BASE_URL=https://api.openai.com\n" in shown
    assert "/openai/v1/... -> https://api.openai.com/v1/..." in shown
