#!/usr/bin/env bash
# Set up a virtualenv and run the gateway with the embedded SQLite store.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/relayscope serve "$@"
