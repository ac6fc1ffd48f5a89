"""``relayscope alerts`` and ``relayscope webhooks`` against a store on disk."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from relayscope.alerts.outbound import SIGNATURE_HEADER, verify
from relayscope.alerts.service import AlertsService
from relayscope.cli import main
from relayscope.store.sql import SqlStore

from .conftest import make_settings, record


def env(tmp_path) -> dict[str, str]:
    return {
        "RELAYSCOPE_DATA_DIR": str(tmp_path),
        "RELAYSCOPE_ALERTS_ALLOW_PRIVATE_TARGETS": "true",
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }


class Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cli(tmp_path, *args: str, check: bool = True) -> Result:
    """The real command, in this process (a subprocess per call is slow on a busy machine)."""
    outcome = CliRunner(env=env(tmp_path)).invoke(main, list(args))
    if outcome.exception and not isinstance(outcome.exception, SystemExit):
        raise outcome.exception
    result = Result(outcome.exit_code, outcome.stdout, outcome.stderr)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.e2e
def test_the_commands_are_installed(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "relayscope", "alerts", "rules", "list", "--org", "nobody"],
        env=env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "no org named 'nobody'" in result.stderr


def evaluate_once(tmp_path) -> None:
    """What the gateway's scheduler does each minute, on the CLI's store."""

    async def run() -> None:
        store = SqlStore(f"sqlite:///{tmp_path}/relayscope.db")
        service = AlertsService(make_settings(), store.database)
        try:
            org = await store.get_org("acme")
            await store.insert_requests(
                [record(org.id, datetime.now(UTC), cost_usd=2.0, properties={"feature": "chat"})]
            )
            assert await service.evaluator.tick()
            await service.evaluator.drain(10)
        finally:
            await service.stop()
            await store.close()

    asyncio.run(run())


def test_channels_rules_history_from_the_command_line(tmp_path, receiver):
    cli(tmp_path, "keys", "create", "--org", "acme")
    added = cli(
        tmp_path,
        "alerts",
        "channels",
        "add",
        "--org",
        "acme",
        "--name",
        "ops",
        "--type",
        "webhook",
        "--url",
        f"{receiver.url}/cli",
    ).stdout.splitlines()
    channel_id = added[0].split()[-1]
    secret = added[-1]
    assert "shown only now" in added[1] and len(secret) >= 32

    listing = cli(tmp_path, "alerts", "channels", "list", "--org", "acme").stdout
    assert channel_id in listing and "ops" in listing and secret not in listing

    tested = cli(tmp_path, "alerts", "channels", "test", "--org", "acme", channel_id)
    assert "delivered" in tested.stdout
    [hit] = receiver.wait_for("/cli")
    assert hit.json()["type"] == "alert.test"
    assert verify(secret, hit.body, hit.headers[SIGNATURE_HEADER.lower()])

    bad = cli(
        tmp_path,
        "alerts",
        "rules",
        "add",
        "--org",
        "acme",
        "--name",
        "x",
        "--metric",
        "spend",
        "--threshold",
        "1",
        "--window",
        "1h",
        check=False,
    )
    assert bad.returncode != 0 and "'metric'" in bad.stderr

    rule_line = cli(
        tmp_path,
        "alerts",
        "rules",
        "add",
        "--org",
        "acme",
        "--name",
        "spend",
        "--metric",
        "cost_usd",
        "--threshold",
        "1",
        "--window",
        "1h",
        "--channel",
        channel_id,
        "--property",
        "feature=chat",
    ).stdout.strip()
    rule_id = rule_line.split()[0]
    assert rule_line.endswith("spend: cost_usd > 1 USD over 1h")

    evaluate_once(tmp_path)
    assert receiver.wait_for("/cli", 2)[1].json()["type"] == "alert.firing"
    rules = cli(tmp_path, "alerts", "rules", "list", "--org", "acme").stdout
    assert f"{rule_id}  firing" in rules
    history = cli(tmp_path, "alerts", "history", "--org", "acme").stdout
    assert "firing    spend  value=2  requests=1  notified=1/1" in history

    assert "deleted" in cli(tmp_path, "alerts", "rules", "delete", "--org", "acme", rule_id).stdout
    again = cli(tmp_path, "alerts", "rules", "delete", "--org", "acme", rule_id, check=False)
    assert again.returncode != 0 and "no rule" in again.stderr


def test_webhooks_from_the_command_line(tmp_path):
    cli(tmp_path, "keys", "create", "--org", "acme")
    added = cli(
        tmp_path,
        "webhooks",
        "add",
        "--org",
        "acme",
        "--url",
        "https://example.com/in?k=v",
        "--secret",
        "0123456789abcdef-secret",
        "--include-bodies",
        "--property",
        "tier=gold",
    ).stdout
    webhook_id = added.split()[-1]
    listing = cli(tmp_path, "webhooks", "list", "--org", "acme").stdout
    assert f"{webhook_id}  https://example.com/******** bodies  tier=gold" in listing
    assert "0123456789abcdef-secret" not in listing
    deleted = cli(tmp_path, "webhooks", "delete", "--org", "acme", webhook_id)
    assert "deleted" in deleted.stdout
    bad = cli(tmp_path, "webhooks", "add", "--org", "acme", "--url", "ftp://x", check=False)
    assert bad.returncode != 0 and "'url'" in bad.stderr


def test_config_shows_the_smtp_password_masked(tmp_path):
    outcome = CliRunner(
        env={**env(tmp_path), "RELAYSCOPE_ALERTS_SMTP_PASSWORD": "smtp-pass-123"}
    ).invoke(main, ["config"])
    assert outcome.exit_code == 0
    assert "RELAYSCOPE_ALERTS_SMTP_PASSWORD=********" in outcome.stdout
    assert "smtp-pass-123" not in outcome.stdout


def test_a_score_rule_from_the_command_line(tmp_path):
    cli(tmp_path, "keys", "create", "--org", "acme")
    added = cli(
        tmp_path,
        "alerts",
        "rules",
        "add",
        "--org",
        "acme",
        "--name",
        "accuracy",
        "--metric",
        "score_avg",
        "--score",
        "accuracy",
        "--comparison",
        "<",
        "--threshold",
        "0.7",
        "--window",
        "1h",
    ).stdout
    assert "average score accuracy < 0.7 over 1h" in added
    missing = cli(
        tmp_path,
        "alerts",
        "rules",
        "add",
        "--org",
        "acme",
        "--name",
        "no score",
        "--metric",
        "score_avg",
        "--threshold",
        "0.7",
        "--window",
        "1h",
        check=False,
    )
    assert missing.returncode != 0 and "score" in missing.stderr
