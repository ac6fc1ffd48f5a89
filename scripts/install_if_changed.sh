#!/usr/bin/env bash
# Make .venv and install the package into it (editable, with SPEC's extras), but only
# when the package's definition changed since the last install: a stamp in .venv holds
# a hash of pyproject.toml, the spec and this checkout's path. Source changes need no
# reinstall (the install is editable); a deleted .venv takes its stamps with it.
# Usage: scripts/install_if_changed.sh SPEC   (SPEC: . or .[test])
set -euo pipefail
cd "$(dirname "$0")/.."
spec="${1:?usage: $0 SPEC}"
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.installed-$(printf '%s' "$spec" | tr -c 'A-Za-z0-9' '_')"
wanted="$({ printf '%s\n%s\n' "$spec" "$PWD"; cat pyproject.toml; } | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
    printf '%s\n' "$wanted" > "$stamp"
fi
