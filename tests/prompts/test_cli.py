"""``relayscope prompts`` against a running gateway's store, and the gateway picking it up.

Commands run in-process through click's runner (the real command code and store; it
saves a Python start-up per command on a busy machine) and once as a real subprocess
to show ``relayscope prompts`` is wired into the ``relayscope`` command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from click.testing import CliRunner

from relayscope.cli import main
from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env
from relayscope.testing.waiting import wait_until

CACHE_TTL = 0.5


@pytest.fixture(scope="module")
def live(e2e_process, tmp_path_factory, fake_server) -> Iterator[GatewayProcess]:
    """A gateway whose prompt cache expires quickly, so CLI changes show within a test."""
    env = {**fake_provider_env(fake_server.url), "RELAYSCOPE_PROMPTS_CACHE_TTL": str(CACHE_TTL)}
    with GatewayProcess(tmp_path_factory.mktemp("prompts-cli"), env) as process:
        yield process


@pytest.fixture
def team(live) -> OrgKey:
    return create_org(live.database_url)


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def cli(live: GatewayProcess, *args: str, check: bool = True) -> Outcome:
    env = {k: v for k, v in live.env.items() if k.startswith("RELAYSCOPE_")}
    result = CliRunner().invoke(main, ["prompts", *args], env=env)
    outcome = Outcome(result.exit_code, result.stdout, result.stderr)
    if check:
        assert result.exit_code == 0, (outcome, result.exception)
    return outcome


def cli_process(live: GatewayProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relayscope", "prompts", *args],
        env={**live.env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


YAML_V1 = """\
id: onboarding
model: gpt-4o-mini
parameters:
  temperature: 0.2
system: null
messages:
  - role: system
    content: Welcome new users of {{product}}.
  - role: user
    content: |
      My name is {{name}}.
labels: [production]
note: first version
"""


def used_version(live: GatewayProcess, team: OrgKey) -> tuple[str, str]:
    response = httpx.post(
        f"{live.url}/openai/v1/chat/completions",
        headers={
            **team.auth,
            "Helicone-Prompt-Id": "onboarding",
            "Helicone-Prompt-Variables": json.dumps({"product": "Relay", "name": "Ada"}),
        },
        json={"model": "gpt-4o-mini"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.headers["helicone-prompt-version"], response.json()["choices"][0]["message"][
        "content"
    ]


def test_push_list_show_label_diff_round_trip(live, team, tmp_path, fake):
    v1 = tmp_path / "onboarding.yaml"
    v1.write_text(YAML_V1)
    pushed = cli_process(live, "push", str(v1), "--org", team.name)
    assert "onboarding version 1 (created)" in pushed.stdout
    assert "onboarding label production -> version 1" in pushed.stdout
    again = cli(live, "push", str(v1), "--org", team.name).stdout
    assert "onboarding version 1 (unchanged" in again, "pushing the same file is idempotent"
    assert used_version(live, team) == ("1", "Echo: My name is Ada.")

    v2 = tmp_path / "onboarding.json"
    v2.write_text(
        json.dumps(
            {
                "id": "onboarding",
                "model": "gpt-4o-mini",
                "parameters": {"temperature": 0.2},
                "messages": [
                    {"role": "system", "content": "Welcome new users of {{product}}!"},
                    {"role": "user", "content": "I am {{name}}."},
                ],
            }
        )
    )
    assert "version 2 (created)" in cli(live, "push", str(v2), "--org", team.name).stdout
    listing = cli(live, "list", "--org", team.name).stdout
    assert "onboarding  latest=2  production=1" in listing

    shown = json.loads(cli(live, "show", "onboarding", "--org", team.name).stdout)
    assert (shown["version"], shown["labels"]) == (1, ["production"])
    assert shown["note"] == "first version"
    assert shown["variables"] == ["product", "name"]
    assert shown["created_by"].startswith("cli")
    latest = json.loads(
        cli(live, "show", "onboarding", "--version", "2", "--org", team.name).stdout
    )
    assert latest["messages"][1]["content"] == "I am {{name}}."

    diff = cli(live, "diff", "onboarding", "1", "2", "--org", team.name).stdout
    assert "--- onboarding version 1" in diff and "+++ onboarding version 2" in diff
    assert '-      "content": "Welcome new users of {{product}}.",' in diff
    assert '+      "content": "Welcome new users of {{product}}!",' in diff
    assert '-      "content": "My name is {{name}}.\\n",' in diff
    assert "temperature" not in diff, "only what changed"
    assert cli(live, "diff", "onboarding", "production", "1", "--org", team.name).stdout == ""

    # The gateway sees the CLI's label move once its prompt cache expires.
    assert (
        "production -> version 2"
        in cli(live, "label", "onboarding", "2", "production", "--org", team.name).stdout
    )
    wait_until(lambda: used_version(live, team)[0] == "2", timeout=CACHE_TTL + 10)
    assert used_version(live, team) == ("2", "Echo: I am Ada.")

    # ...and the API shows what the CLI wrote.
    with httpx.Client(base_url=live.url, headers=team.bearer) as api:
        data = api.get("/api/prompts/onboarding").json()["data"]
    assert (data["latest_version"], data["labels"]) == (2, {"production": 2})


def test_cli_errors_are_clear(live, team, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: p\nmessages:\n  - content: no role\n")
    result = cli(live, "push", str(broken), "--org", team.name, check=False)
    assert result.returncode != 0 and "messages[0].role" in result.stderr

    not_yaml = tmp_path / "bad.yaml"
    not_yaml.write_text("id: [unclosed\n")
    result = cli(live, "push", str(not_yaml), "--org", team.name, check=False)
    assert result.returncode != 0 and "not valid YAML or JSON" in result.stderr

    result = cli(live, "show", "ghost", "--org", team.name, check=False)
    assert result.returncode != 0 and "No prompt with id 'ghost'" in result.stderr
    result = cli(live, "list", "--org", "no-such-org", check=False)
    assert result.returncode != 0 and "no org named 'no-such-org'" in result.stderr

    ok = tmp_path / "ok.yaml"
    ok.write_text("id: p\nmessages:\n  - role: user\n    content: '{{x}}'\n")
    cli(live, "push", str(ok), "--org", team.name)
    result = cli(live, "label", "p", "5", "production", "--org", team.name, check=False)
    assert result.returncode != 0 and "no version 5" in result.stderr
    result = cli(live, "diff", "p", "1", "staging", "--org", team.name, check=False)
    assert result.returncode != 0 and "no label 'staging'" in result.stderr
