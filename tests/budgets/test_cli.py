"""``relayscope teams`` and ``relayscope budgets``: the operator sets a team budget on the
store, and a running gateway enforces it."""

from __future__ import annotations

import openai
from click.testing import CliRunner

from relayscope.cli import main
from relayscope.testing.waiting import wait_until

from .conftest import openai_client


def run(gateway, *args: str) -> str:
    result = CliRunner().invoke(
        main, list(args), env={"RELAYSCOPE_DATABASE_URL": gateway.database_url}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a_team_budget_set_from_the_cli_refuses_the_teams_requests(budget_gateway, owner, fake):
    team_id = run(budget_gateway, "teams", "create", "--org", owner.name, "ml").splitlines()[-1]
    run(budget_gateway, "teams", "add-key", "--org", owner.name, team_id, owner.key_id)
    assert f"{team_id}  ml  keys: {owner.key_id}" in run(
        budget_gateway, "teams", "list", "--org", owner.name
    )
    budget_id = run(
        budget_gateway,
        *("budgets", "set", "--org", owner.name, "--level", "team", "--target", team_id),
        *("--usd", "0.000001", "--period", "week"),
    ).splitlines()[-1]

    def refused() -> bool:
        try:
            with openai_client(budget_gateway, owner) as client:
                client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
                )
        except openai.RateLimitError:
            return True
        return False

    # The gateway reads budgets again within RELAYSCOPE_BUDGETS_BOOK_TTL.
    wait_until(refused, timeout=10)
    listed = run(budget_gateway, "budgets", "list", "--org", owner.name)
    assert budget_id in listed and f"team {team_id}" in listed and "of $0.000001" in listed
    assert run(budget_gateway, "budgets", "delete", "--org", owner.name, budget_id).strip() == (
        f"deleted {budget_id}"
    )


def test_bad_budgets_are_usage_errors(budget_gateway, owner):
    runner = CliRunner()
    env = {"RELAYSCOPE_DATABASE_URL": budget_gateway.database_url}
    no_limit = runner.invoke(
        main, ["budgets", "set", "--org", owner.name, "--level", "org"], env=env
    )
    assert no_limit.exit_code == 2 and "usd_limit" in no_limit.output
    no_team = runner.invoke(
        main,
        ["budgets", "set", "--org", owner.name, "--level", "team", "--target", "x", "--usd", "1"],
        env=env,
    )
    assert no_team.exit_code == 1 and "no team 'x'" in no_team.output
