"""``--org`` may be left out when the store holds one org, as the README's commands do.

Commands run in-process through click's runner (the real commands and store).
"""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner, Result

from relayscope.cli import main
from relayscope.testing.orgs import create_org

PROMPT = """\
id: greeting
model: gpt-4o-mini
messages:
  - role: user
    content: Hello {{name}}.
"""


def run(tmp_path, store_url: str, *args: str) -> Result:
    env = {"RELAYSCOPE_DATA_DIR": str(tmp_path), "RELAYSCOPE_DATABASE_URL": store_url}
    return CliRunner().invoke(main, list(args), env=env)


@pytest.fixture
def store(tmp_path, store_url) -> str:
    """A migrated store with no orgs."""
    assert run(tmp_path, store_url, "migrate").exit_code == 0
    return store_url


def test_prompts_push_without_org_uses_the_only_org_and_says_so(tmp_path, store):
    only = create_org(store, "solo")
    prompt = tmp_path / "prompt.yaml"
    prompt.write_text(PROMPT)

    pushed = run(tmp_path, store, "prompts", "push", str(prompt))

    assert pushed.exit_code == 0, pushed.output
    assert "greeting version 1 (created)" in pushed.stdout
    assert "org 'solo' (the only org" in pushed.stderr
    listed = run(tmp_path, store, "prompts", "list", "--org", only.name)
    assert "greeting  latest=1" in listed.stdout


def test_without_org_and_several_orgs_the_error_lists_them(tmp_path, store):
    create_org(store, "alpha")
    create_org(store, "beta")

    result = run(tmp_path, store, "keys", "list")

    assert result.exit_code == 2
    assert "Missing option '--org': the store has 2 orgs, name one: 'alpha', 'beta'." in (
        result.stderr
    )


def test_without_org_on_an_empty_store_the_error_says_how_to_make_one(tmp_path, store):
    result = run(tmp_path, store, "prompts", "list")
    assert result.exit_code == 2
    assert "the store has no orgs yet" in result.stderr


def test_data_export_keeps_stdout_pure_json_lines(tmp_path, store):
    create_org(store, "solo")
    result = run(tmp_path, store, "data", "export")
    assert result.exit_code == 0, result.output
    assert all(json.loads(line) for line in result.stdout.splitlines())
    assert "org 'solo'" in result.stderr


def test_every_org_option_defaults_the_same_way():
    """Each command taking --org may omit it, but those where --org only narrows a listing
    that otherwise covers every org (`export`, `logs dead-letters`)."""

    def commands(group: click.Group, path: str = "relayscope") -> list[tuple[str, click.Command]]:
        found: list[tuple[str, click.Command]] = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, f"{path} {name}")
            else:
                found.append((f"{path} {name}", command))
        return found

    taking_org = {
        path: option
        for path, command in commands(main)
        for option in command.params
        if "--org" in getattr(option, "opts", ())
    }
    assert len(taking_org) > 20
    for path, option in taking_org.items():
        if path in ("relayscope export", "relayscope logs dead-letters"):
            assert option.default is None and not option.required, path
            continue
        assert not option.required, path
        assert "the only org" in (option.help or ""), path
