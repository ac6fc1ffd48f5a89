"""``relayscope evaluators`` against a running gateway process: create, list and
delete on its store, and ``run`` through its API (so the verdicts are stored there)."""

from __future__ import annotations

import asyncio

import openai
from click.testing import CliRunner

from relayscope.cli import main
from relayscope.store.scores import of_request
from relayscope.testing.orgs import create_org


def cli(gateway, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    base = {"RELAYSCOPE_DATABASE_URL": gateway.database_url, **(env or {})}
    return CliRunner().invoke(main, ["evaluators", *args], env=base)


def test_create_list_run_and_delete_from_the_command_line(gateway_process) -> None:  # type: ignore[no-untyped-def]
    org = create_org(gateway_process.database_url)
    client = openai.OpenAI(
        base_url=f"{gateway_process.url}/openai/v1",
        api_key="sk-client",
        default_headers=org.auth,
        max_retries=0,
    )
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "tell me a story"}],
        extra_headers={"Helicone-Property-Team": "writers"},
    )
    asked = raw.headers["helicone-id"]
    gateway_process.record(org, asked)

    created = cli(
        gateway_process,
        "create",
        "--org",
        org.name,
        "--name",
        "mentions-story",
        "--kind",
        "contains",
        "--config",
        '{"text": "STORY"}',
    )
    assert created.exit_code == 0, created.output
    evaluator_id = created.output.split()[2]

    refused = cli(
        gateway_process,
        "create",
        "--org",
        org.name,
        "--name",
        "bad",
        "--kind",
        "regex",
        "--config",
        '{"pattern": "(("}',
    )
    assert refused.exit_code != 0
    assert "config.pattern" in refused.output

    listed = cli(gateway_process, "list", "--org", org.name)
    assert listed.exit_code == 0
    assert f"{evaluator_id}  mentions-story  contains  sample 0" in listed.output

    run = cli(
        gateway_process,
        "run",
        evaluator_id,
        "--filter",
        "property.team=writers",
        "--limit",
        "5",
        env={"RELAYSCOPE_GATEWAY_URL": gateway_process.url, "RELAYSCOPE_ADMIN_KEY": org.key},
    )
    assert run.exit_code == 0, run.output
    assert f"{asked}  true" in run.output
    assert "mentions-story: scored 1, failed 0" in run.output
    held = asyncio.run(_scores(gateway_process.database_url, org.org_id, asked))
    assert held == {"mentions-story": True}

    deleted = cli(gateway_process, "delete", "--org", org.name, evaluator_id)
    assert deleted.exit_code == 0
    again = cli(gateway_process, "delete", "--org", org.name, evaluator_id)
    assert again.exit_code != 0 and "no evaluator" in again.output


async def _scores(database_url: str, org_id: str, request_id: str) -> dict[str, object]:
    from relayscope.store.sql import open_store

    store = open_store(database_url)
    try:
        rows = await of_request(store.database, org_id, request_id)
    finally:
        await store.close()
    return {row["name"]: row["value"] for row in rows}
