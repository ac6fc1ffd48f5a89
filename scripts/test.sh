#!/usr/bin/env bash
# Set up a virtualenv with the test dependencies, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# The dashboard's browser tests drive Debian's Chromium (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium >/dev/null
fi
scripts/install_if_changed.sh '.[test]'
exec .venv/bin/python -m pytest "$@"
