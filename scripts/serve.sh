#!/usr/bin/env bash
# Set up a virtualenv and run the gateway with the embedded SQLite store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_if_changed.sh .
exec .venv/bin/relayscope serve "$@"
