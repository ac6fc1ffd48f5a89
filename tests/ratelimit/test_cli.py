"""``relayscope ratelimits``: the operator sets, lists and deletes standing policies."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from relayscope.cli import main
from relayscope.testing.waiting import wait_until


def run(rl_gateway, *args: str):
    runner = CliRunner()
    return runner.invoke(
        main, ["ratelimits", *args], env={"RELAYSCOPE_DATABASE_URL": rl_gateway.database_url}
    )


def test_set_list_delete_drive_a_running_gateway(rl_gateway, rl_org, fake):
    # The real command, as an operator types it.
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "relayscope",
            "ratelimits",
            "set",
            "--org",
            rl_org.name,
            "--policy",
            "2;w=3600;u=user",
        ],
        env={**rl_gateway.process.env, "RELAYSCOPE_DATABASE_URL": rl_gateway.database_url},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "Created policy" in created and "2;w=3600;u=request;s=user" in created
    policy_id = created.splitlines()[-1].split()[0]

    def chat(user: str) -> int:
        return rl_gateway.chat(rl_org, {"Helicone-User-Id": user}).status_code

    wait_until(lambda: chat("dave") == 429)
    assert [chat("erin"), chat("erin"), chat("erin")] == [200, 200, 429]

    updated = run(rl_gateway, "set", "--org", rl_org.name, "--policy", "3;w=3600;s=user")
    assert updated.exit_code == 0 and "Updated policy" in updated.output
    assert updated.output.splitlines()[-1].split()[0] == policy_id
    wait_until(lambda: chat("erin") == 200)

    listing = run(rl_gateway, "list", "--org", rl_org.name)
    assert listing.exit_code == 0
    assert listing.output.split()[:3] == [policy_id, "3;w=3600;u=request;s=user", "all"]
    assert "3 requests per 3600 s per user" in listing.output

    deleted = run(rl_gateway, "delete", policy_id)
    assert deleted.exit_code == 0 and policy_id in deleted.output
    assert "no standing rate-limit policies" in run(rl_gateway, "list", "--org", rl_org.name).output
    wait_until(lambda: chat("erin") == 200 and chat("erin") == 200)


def test_a_key_policy_is_listed_with_its_key(rl_gateway, rl_org):
    result = run(
        rl_gateway, "set", "--org", rl_org.name, "--key", rl_org.key_id, "--policy", "9;w=60"
    )
    assert result.exit_code == 0
    assert f"key {rl_org.key_id}" in run(rl_gateway, "list", "--org", rl_org.name).output


def test_mistakes_are_reported_and_change_nothing(rl_gateway, rl_org):
    bad_policy = run(rl_gateway, "set", "--org", rl_org.name, "--policy", "9;w=0")
    assert bad_policy.exit_code == 2
    assert "--policy" in bad_policy.output and "between 1 and 31536000" in bad_policy.output

    unknown_org = run(rl_gateway, "set", "--org", "no-such-org", "--policy", "9;w=60")
    assert unknown_org.exit_code == 1 and "no org named 'no-such-org'" in unknown_org.output

    stranger = rl_gateway.new_org()
    foreign_key = run(
        rl_gateway, "set", "--org", rl_org.name, "--key", stranger.key_id, "--policy", "9;w=60"
    )
    assert foreign_key.exit_code == 2 and "--key" in foreign_key.output
    assert f"no key '{stranger.key_id}'" in foreign_key.output

    missing = run(rl_gateway, "delete", "00000000-0000-0000-0000-000000000000")
    assert missing.exit_code == 1 and "no rate-limit policy" in missing.output

    assert "no standing rate-limit policies" in run(rl_gateway, "list", "--org", rl_org.name).output
