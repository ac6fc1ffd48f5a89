#!/usr/bin/env bash
# Install the agent CLIs the end-to-end tests drive (Claude Code, the Codex CLI) from npm
# into .venv/agent-clis, at pinned versions; nothing when they are there already.
# tests/proxy/test_agent_clis_e2e.py runs it when npm is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=".venv/agent-clis"
pins="@anthropic-ai/claude-code@2.1.197 @openai/codex@0.171.0"
stamp="$dir/.installed"
if [ "$(cat "$stamp" 2>/dev/null || true)" = "$pins" ]; then
    exit 0
fi
mkdir -p "$dir"
# shellcheck disable=SC2086  # the pins are separate arguments
npm install --prefix "$dir" --no-audit --no-fund --silent $pins
printf '%s\n' "$pins" > "$stamp"
