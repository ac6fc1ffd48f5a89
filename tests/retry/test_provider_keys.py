"""Operator-configured provider keys: API, CLI, encryption at rest, use by fallbacks."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import openai
import orjson
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from relayscope.cli import main
from relayscope.retry.crypto import SecretBox
from relayscope.testing.fake_provider import Behaviour
from relayscope.testing.stores import store_contents
from relayscope.testing.waiting import wait_until

from .conftest import CLAUDE, OPENAI_KEY

OPERATOR_KEY = "sk-ant-operator-secret-4242"
TO_CLAUDE = {
    "Helicone-Fallback": orjson.dumps([{"provider": "anthropic", "model": CLAUDE}]).decode()
}


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: these tests read its log and run the CLI with its environment."""
    return gateway_process


@pytest.fixture
def oai(gateway, org):
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key=OPENAI_KEY,
        default_headers=org.auth,
        max_retries=0,
    ) as sdk:
        yield sdk


def claude_fallback(oai) -> openai.types.chat.ChatCompletion:
    return oai.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "operator key please"}],
        extra_headers=TO_CLAUDE,
    )


def data_dir(gateway) -> Path:
    return Path(gateway.process.env["RELAYSCOPE_DATA_DIR"])


def test_api_stores_lists_and_deletes_without_ever_returning_the_key(gateway, org, oai, fake):
    with gateway.api(org) as api:
        put = api.put("/api/provider-keys/anthropic", json={"key": OPERATOR_KEY})
        assert put.status_code == 200
        assert put.json()["data"]["last4"] == "4242"
        listing = api.get("/api/provider-keys")
        assert [(k["provider"], k["last4"]) for k in listing.json()["data"]] == [
            ("anthropic", "4242")
        ]
        assert OPERATOR_KEY not in put.text + listing.text

        fake.enqueue(Behaviour(status=503))
        assert claude_fallback(oai).choices[0].message.content == "Echo: operator key please"
        upstream = fake.requests[1]
        assert upstream.headers["x-api-key"] == OPERATOR_KEY
        assert "authorization" not in upstream.headers

        assert api.delete("/api/provider-keys/anthropic").status_code == 200
        assert api.get("/api/provider-keys").json()["data"] == []
        assert api.delete("/api/provider-keys/anthropic").status_code == 404

    fake.enqueue(Behaviour(status=503))
    with pytest.raises(openai.InternalServerError):
        claude_fallback(oai)
    assert fake.calls == 3, "after deletion the fallback has no credentials and is skipped"

    # The records of the fallbacks are written in the background: wait for them.
    stored = wait_until(
        lambda: (
            (contents := store_contents(gateway.database_url)).count(b"anthropic") >= 2 and contents
        )
    )
    assert OPERATOR_KEY.encode() not in stored
    assert OPERATOR_KEY not in gateway.process.log()


def test_keys_belong_to_one_org(gateway, org, fake):
    other = gateway.new_org()
    with gateway.api(org) as api:
        api.put("/api/provider-keys/anthropic", json={"key": OPERATOR_KEY})
    with gateway.api(other) as api:
        assert api.get("/api/provider-keys").json()["data"] == []
    with openai.OpenAI(
        base_url=f"{gateway.url}/openai/v1",
        api_key=OPENAI_KEY,
        default_headers=other.auth,
        max_retries=0,
    ) as sdk:
        fake.enqueue(Behaviour(status=503))
        with pytest.raises(openai.InternalServerError):
            claude_fallback(sdk)
    assert fake.calls == 1


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/provider-keys/nowhere", {"key": "k"}, 404),
        ("/api/provider-keys/anthropic", {"key": ""}, 400),
        ("/api/provider-keys/anthropic", {"key": "two words"}, 400),
        ("/api/provider-keys/anthropic", {"secret": "k"}, 400),
        ("/api/provider-keys/anthropic", ["k"], 400),
    ],
)
def test_api_refuses_bad_input(gateway, org, path, body, status):
    with gateway.api(org) as api:
        response = api.put(path, json=body)
    assert response.status_code == status
    assert "message" in response.json()["error"]


def test_api_needs_a_gateway_key(gateway):
    assert httpx.get(f"{gateway.url}/api/provider-keys", timeout=10).status_code == 401


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(gateway, *args: str, stdin: str = "", check: bool = True) -> Result:
    """The real command with the gateway's environment, in this process (a subprocess per
    call costs seconds of start-up on a busy machine)."""
    outcome = CliRunner(env=gateway.process.env).invoke(main, ["provider-keys", *args], input=stdin)
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    result = Result(outcome.exit_code, outcome.stdout, outcome.stderr)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_cli_sets_lists_and_deletes_keys_used_by_the_running_gateway(gateway, org, oai, fake):
    stored = cli(gateway, "set", "--org", org.name, "--provider", "anthropic", stdin=OPERATOR_KEY)
    assert "4242" in stored.stdout and OPERATOR_KEY not in stored.stdout + stored.stderr
    listing = cli(gateway, "list", "--org", org.name).stdout
    assert "anthropic" in listing and "4242" in listing and OPERATOR_KEY not in listing

    secret = data_dir(gateway) / "secret.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600

    fake.enqueue(Behaviour(status=503))
    claude_fallback(oai)
    assert fake.requests[1].headers["x-api-key"] == OPERATOR_KEY

    assert "deleted" in cli(gateway, "delete", "--org", org.name, "--provider", "anthropic").stdout
    assert cli(gateway, "list", "--org", org.name).stdout == ""
    again = cli(gateway, "delete", "--org", org.name, "--provider", "anthropic", check=False)
    assert again.returncode != 0 and "no anthropic key" in again.stderr


def test_cli_refuses_unknown_orgs_providers_and_empty_keys(gateway, org):
    unknown_org = cli(gateway, "list", "--org", "no-such-org", check=False)
    assert unknown_org.returncode != 0 and "no org named" in unknown_org.stderr
    bad_provider = cli(gateway, "set", "--org", org.name, "--provider", "nope", check=False)
    assert bad_provider.returncode != 0 and "nope" in bad_provider.stderr
    empty = cli(gateway, "set", "--org", org.name, "--provider", "openai", stdin="\n", check=False)
    assert empty.returncode != 0 and "non-empty" in empty.stderr


def test_secret_box_uses_the_configured_key_and_supports_rotation(tmp_path):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox(old, tmp_path).encrypt("sk-abc")
    assert "sk-abc" not in token
    assert SecretBox(new, tmp_path).decrypt(token) is None
    rotated = SecretBox(f"{new},{old}", tmp_path)
    assert rotated.decrypt(token) == "sk-abc"
    assert SecretBox(new, tmp_path).decrypt(rotated.encrypt("sk-def")) == "sk-def"
    assert not (tmp_path / "secret.key").exists(), "no file when the key is configured"


def test_secret_box_generates_one_private_key_file(tmp_path):
    first = SecretBox("", tmp_path / "data")
    token = first.encrypt("sk-abc")
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert SecretBox("", tmp_path / "data").decrypt(token) == "sk-abc"


def test_a_bad_secret_key_stops_with_a_clear_message(tmp_path):
    with pytest.raises(SystemExit, match="RELAYSCOPE_SECRET_KEY"):
        SecretBox("not-a-fernet-key", tmp_path).encrypt("x")
