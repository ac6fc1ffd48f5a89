"""RelayScope benchmark harness (issue #4). Run with `python -m bench`; see bench/README.md."""

import os as _os

# Gateways, seeders and `keys create` run with their own working directory (a temp
# dir), so a relative PYTHONPATH (e.g. `PYTHONPATH=src`, to measure a worktree's
# source) would silently resolve elsewhere and they would import whichever
# relayscope the venv has installed. Make every entry absolute, once, for all
# subprocesses.
if _os.environ.get("PYTHONPATH"):
    _os.environ["PYTHONPATH"] = _os.pathsep.join(
        _os.path.abspath(p) if p else p for p in _os.environ["PYTHONPATH"].split(_os.pathsep)
    )
