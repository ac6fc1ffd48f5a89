"""The real Claude Code and Codex CLIs, pointed at a real gateway by their base URLs,
answered by the fake provider: what they send passes through and is logged.

The CLIs come from npm: ``scripts/install_agent_clis.sh`` puts pinned versions in
``.venv/agent-clis`` (run here once, when npm is on PATH); without npm these tests are
skipped. ``RELAYSCOPE_AGENT_CLIS`` names another directory holding ``claude`` and ``codex``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from relayscope.testing.waiting import wait_until

ROOT = Path(__file__).parents[2]
BIN = Path(
    os.environ.get("RELAYSCOPE_AGENT_CLIS")
    or ROOT / ".venv" / "agent-clis" / "node_modules" / ".bin"
)


def cli(name: str) -> Path:
    path = BIN / name
    if not path.exists() and "RELAYSCOPE_AGENT_CLIS" not in os.environ and shutil.which("npm"):
        script = ROOT / "scripts" / "install_agent_clis.sh"
        subprocess.run(["bash", str(script)], capture_output=True, timeout=600)
    if not path.exists():
        pytest.skip(f"{name} is not installed in {BIN} (scripts/install_agent_clis.sh)")
    return path


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(cwd), "LANG": "C.UTF-8"}
    done = subprocess.run(
        argv, env={**base, **env}, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def gateway(gateway_process):
    """A gateway process: the CLIs are other processes, reaching it by its URL."""
    return gateway_process


def the_record(gateway, org, path: str) -> dict[str, Any]:
    with gateway.api(org) as api:

        def found() -> str | None:
            listed = api.get("/api/requests", params={"limit": 10}).json()["data"]
            return next((r["id"] for r in listed if r["path"] == path), None)

        ident = wait_until(found, timeout=10)
    return gateway.record(org, ident)


def price(provider: str, model: str, inputs: int, outputs: int, read: int, write: int) -> float:
    usage = Usage(
        input_tokens=inputs,
        output_tokens=outputs,
        cache_read_tokens=read or None,
        cache_write_tokens=write or None,
    )
    return float(calc_price(usage, model_ref=model, provider_id=provider).total_price)


def test_claude_code_through_the_gateway(gateway, org, fake, tmp_path):
    claude = cli("claude")
    done = run(
        [str(claude), "-p", "say hello", "--output-format", "json"],
        {
            "ANTHROPIC_BASE_URL": f"{gateway.url}/anthropic",
            "ANTHROPIC_API_KEY": "sk-ant-claude-code-key",
            "ANTHROPIC_CUSTOM_HEADERS": f"Helicone-Auth: Bearer {org.key}",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
        },
        tmp_path,
    )
    result = json.loads(done.stdout)
    assert result["subtype"] == "success"
    assert result["result"].startswith("Echo: ") and result["result"].endswith("say hello")

    sent = next(r for r in fake.requests if r.path == "/v1/messages")
    assert sent.query_string == "beta=true"
    assert "claude-code-20250219" in sent.headers["anthropic-beta"]
    assert sent.headers["x-api-key"] == "sk-ant-claude-code-key"
    assert sent.headers["user-agent"].startswith("claude-cli/")
    assert "helicone-auth" not in sent.headers
    assert sent.json["stream"] is True and sent.json["tools"]

    record = the_record(gateway, org, "/anthropic/v1/messages")
    usage = result["usage"]
    read, write = usage["cache_read_input_tokens"], usage["cache_creation_input_tokens"]
    assert record["stream"] is True and record["ttft_ms"] is not None
    assert record["prompt_tokens"] == usage["input_tokens"] + read + write
    assert record["completion_tokens"] == usage["output_tokens"]
    assert (record["cache_read_tokens"], record["cache_write_tokens"]) == (read, write)
    model = sent.json["model"]
    expected = price(
        "anthropic", model, record["prompt_tokens"], usage["output_tokens"], read, write
    )
    assert record["cost_usd"] == pytest.approx(expected)
    texts = [b["text"] for b in record["response_body"]["content"] if b["type"] == "text"]
    assert texts == [result["result"]]


def test_codex_cli_through_the_gateway(gateway, org, fake, tmp_path):
    codex = cli("codex")
    (tmp_path / "config.toml").write_text(
        'model = "gpt-5-codex"\n'
        'model_provider = "relayscope"\n'
        "[model_providers.relayscope]\n"
        'name = "RelayScope"\n'
        f'base_url = "{gateway.url}/openai/v1"\n'
        'env_key = "OPENAI_API_KEY"\n'
        'wire_api = "responses"\n'
        f'http_headers = {{ "Helicone-Auth" = "Bearer {org.key}" }}\n'
    )
    done = run(
        [str(codex), "exec", "--skip-git-repo-check", "say hello"],
        {"CODEX_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-codex-key"},
        tmp_path,
    )
    assert "Echo: say hello" in done.stdout

    sent = next(r for r in fake.requests if r.path == "/v1/responses")
    assert sent.headers["authorization"] == "Bearer sk-codex-key"
    assert sent.headers["originator"].startswith("codex")
    assert sent.json["stream"] is True and sent.json["store"] is False

    record = the_record(gateway, org, "/openai/v1/responses")
    body = record["response_body"]
    assert body["object"] == "response" and body["status"] == "completed"
    message = next(item for item in body["output"] if item["type"] == "message")
    assert message["content"][0]["text"] == "Echo: say hello"
    usage = body["usage"]
    assert record["prompt_tokens"] == usage["input_tokens"]
    assert record["completion_tokens"] == usage["output_tokens"]
    assert record["reasoning_tokens"] == usage["output_tokens_details"]["reasoning_tokens"]
    expected = price("openai", "gpt-5-codex", usage["input_tokens"], usage["output_tokens"], 0, 0)
    assert record["cost_usd"] == pytest.approx(expected)
