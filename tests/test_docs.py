"""The docs as a user copies them: the configuration table is current, and every Python
SDK snippet and runnable curl example in README.md and docs/*.md works as written.

Snippets run against a real gateway process whose providers are the fake provider.
Only the placeholders a reader replaces are filled in: the gateway address and the
gateway key (``sk-relayscope-...``, ``$RELAYSCOPE_KEY``). Provider keys are not
supplied from the environment, so a snippet that leaves out ``api_key`` fails inside
the SDK here just as it does for a user.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from relayscope.testing.orgs import OrgKey, create_org
from relayscope.testing.process import GatewayProcess, fake_provider_env

ROOT = Path(__file__).parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
GATEWAY_ADDRESS = re.compile(r"http://(?:127\.0\.0\.1|localhost):8787")
GATEWAY_KEY = re.compile(r"sk-relayscope-(?:\.\.\.|…)")
SHELL = ("sh", "bash", "console")
PROVIDER_KEY_VARIABLES = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL")


def blocks(path: Path, languages: tuple[str, ...]) -> list[str]:
    return [m.group(2) for m in BLOCK.finditer(path.read_text()) if m.group(1) in languages]


def runnable_shell(block: str) -> bool:
    """Only curl commands, with nothing but the gateway key left for the reader to fill in
    (no ``<id>``, ``6f0c…``, no other tools to install)."""
    commands = [line for line in block.splitlines() if line and not line.startswith(" ")]
    return all(line.startswith("curl ") for line in commands) and not re.search(
        r"…|\.\.\.|<\w+>", GATEWAY_KEY.sub("", block)
    )


def test_readme_configuration_table_is_current():
    spec = importlib.util.spec_from_file_location(
        "config_reference", ROOT / "scripts" / "config_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    readme = (ROOT / "README.md").read_text()
    assert module.render(readme) == readme, (
        "README's configuration table is stale: run python scripts/config_reference.py"
    )


@pytest.fixture(scope="module")
def live(e2e_process, tmp_path_factory, fake_server) -> Iterator[GatewayProcess]:
    process = GatewayProcess(tmp_path_factory.mktemp("docs"), fake_provider_env(fake_server.url))
    try:
        yield process.start(timeout=120)  # generous: the test machine may be loaded
    finally:
        process.stop()


@pytest.fixture
def reader(live) -> OrgKey:
    """The org a reader works in (a new one per test), with its admin gateway key."""
    return create_org(live.database_url)


def filled(text: str, live: GatewayProcess, reader: OrgKey) -> str:
    return GATEWAY_KEY.sub(reader.key, GATEWAY_ADDRESS.sub(live.url, text))


def run_shell(block: str, live: GatewayProcess, reader: OrgKey) -> str:
    script = "set -euo pipefail\n" + filled(block, live, reader).replace(
        "curl ", "curl -sS --fail-with-body "
    )
    env = {
        **{k: v for k, v in os.environ.items() if k not in PROVIDER_KEY_VARIABLES},
        "RELAYSCOPE_KEY": reader.key,
        "OPENAI_API_KEY": "sk-reader-openai-key",
    }
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, (block, done.stdout, done.stderr)
    return done.stdout


SETUP_SHELL = {
    # The Python examples use the stored prompt that the API section's curl creates.
    "prompts.md": lambda live, reader: (
        [run_shell(b, live, reader) for b in blocks(ROOT / "docs" / "prompts.md", SHELL)],
        httpx.put(
            f"{live.url}/api/prompts/customer-support/labels/staging",
            headers=reader.bearer,
            json={"version": 1},
            timeout=10,
        ).raise_for_status(),
    ),
}

PYTHON_DOCS = [path for path in DOCS if blocks(path, ("python",))]
SHELL_DOCS = [path for path in DOCS if any(runnable_shell(b) for b in blocks(path, SHELL))]


@pytest.mark.parametrize("path", PYTHON_DOCS, ids=lambda p: p.name)
def test_python_snippets_run_as_written(path, live, reader, fake, monkeypatch, capsys):
    for name in PROVIDER_KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    setup = SETUP_SHELL.get(path.name)
    if setup is not None:
        setup(live, reader)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    try:
        for number, block in enumerate(blocks(path, ("python",)), 1):
            name = f"{path.name} python block {number}"
            exec(compile(filled(block, live, reader), name, "exec"), namespace)
    finally:  # what a reader's process would do on exit: release the clients' connections
        for value in namespace.values():
            if isinstance(value, openai.OpenAI | anthropic.Anthropic | httpx.Client):
                value.close()
    capsys.readouterr()
    if any("OpenAI(" in b or "Anthropic(" in b for b in blocks(path, ("python",))):
        assert fake.calls >= 1, "the snippets reached the provider through the gateway"


@pytest.mark.parametrize("path", SHELL_DOCS, ids=lambda p: p.name)
def test_curl_examples_run_as_written(path, live, reader, fake):
    for block in blocks(path, SHELL):
        if runnable_shell(block):
            run_shell(block, live, reader)


def test_the_runnable_examples_are_found():
    """Guards the extraction itself: a renamed fence must not silently skip snippets."""
    names = {path.name for path in PYTHON_DOCS}
    assert {"README.md", "cache.md", "prompts.md", "retry.md", "alerts.md", "scores.md"} <= names
    assert {"ingestion.md", "evaluators.md"} <= names
    assert {path.name for path in SHELL_DOCS} >= {"prompts.md", "ratelimit.md", "ingestion.md"}
