"""``relayscope datasets`` and ``relayscope experiments`` against a gateway process:
a JSONL file is imported and exported unchanged, a bad line is named, and an
experiment is estimated, then run through the gateway with its summary printed."""

from __future__ import annotations

import json

import orjson
from click.testing import CliRunner, Result

from relayscope.cli import main

ROWS = [
    {
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "output": None,
        "expected": "4",
        "request_id": None,
        "model": "gpt-4o-mini",
    },
    {
        "messages": [{"role": "user", "content": "Name a colour"}],
        "output": None,
        "expected": None,
        "request_id": None,
        "model": None,
    },
]


def run(gateway, *args: str, org: str | None = None, key: str | None = None) -> Result:
    env = {"RELAYSCOPE_DATABASE_URL": gateway.database_url, "RELAYSCOPE_URL": gateway.url}
    if key is not None:
        env["RELAYSCOPE_KEY"] = key
    extra = ["--org", org] if org is not None and args[0] == "datasets" else []
    return CliRunner().invoke(main, [*args, *extra], env=env)


def test_import_export_estimate_and_run(gateway_process, tmp_path):
    org = gateway_process.new_org()
    source = tmp_path / "rows.jsonl"
    source.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in ROWS))

    imported = run(
        gateway_process, "datasets", "import", str(source), "--name", "cli", org=org.name
    )
    assert imported.exit_code == 0, imported.output
    dataset_id = imported.stdout.strip()
    listed = run(gateway_process, "datasets", "list", org=org.name)
    assert dataset_id in listed.stdout and "2 rows" in listed.stdout
    copy = tmp_path / "copy.jsonl"
    exported = run(gateway_process, "datasets", "export", dataset_id, "-o", str(copy), org=org.name)
    assert exported.exit_code == 0, exported.output
    assert copy.read_bytes() == source.read_bytes()

    estimated = run(
        gateway_process, "experiments", "estimate", "--dataset", dataset_id,
        "--variant", "mini=gpt-4o-mini", "--variant", "big=gpt-4o,temperature=0.2",
        key=org.key,
    )  # fmt: skip
    assert estimated.exit_code == 0, estimated.output
    assert "4 requests" in estimated.stdout and "estimated total: $" in estimated.stdout

    ran = run(
        gateway_process, "experiments", "run", "--yes", "--dataset", dataset_id,
        "--variant", "mini=gpt-4o-mini", "--variant", "big=gpt-4o", key=org.key,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    printed = json.loads(ran.stdout[ran.stdout.index("{\n") :])
    assert printed["status"] == "completed"
    assert printed["best"]["cost"] == ["mini"]
    assert {s["variant"]: s["succeeded"] for s in printed["summary"]} == {"mini": 2, "big": 2}


def test_a_bad_line_is_named_and_nothing_is_imported(gateway_process, tmp_path):
    org = gateway_process.new_org()
    source = tmp_path / "bad.jsonl"
    source.write_bytes(orjson.dumps(ROWS[0]) + b"\n" + b'{"messages": []}\n')
    refused = run(gateway_process, "datasets", "import", str(source), "--name", "bad", org=org.name)
    assert refused.exit_code == 1
    assert "line 2:" in refused.output
    assert run(gateway_process, "datasets", "list", org=org.name).stdout == ""
    unconfirmed = CliRunner().invoke(
        main,
        ["experiments", "run", "--dataset", "nope", "--variant", "a=gpt-4o-mini"],
        env={"RELAYSCOPE_URL": gateway_process.url, "RELAYSCOPE_KEY": org.key},
    )
    assert unconfirmed.exit_code == 1 and "No dataset" in unconfirmed.output
