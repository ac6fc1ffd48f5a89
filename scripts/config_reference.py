"""Rewrite the README's configuration table from the settings' own help texts.

Run after adding a setting: python scripts/config_reference.py
"""

from __future__ import annotations

import re
from pathlib import Path

from relayscope.config import reference

README = Path(__file__).parents[1] / "README.md"
START, END = "<!-- config:start -->", "<!-- config:end -->"
SHOWN_DEFAULTS = {
    "RELAYSCOPE_DATA_DIR": "user data dir",
    "RELAYSCOPE_DATABASE_URL": "`sqlite:///<data dir>/relayscope.db`",
    "RELAYSCOPE_SECRET_KEY": "generated",
}


def table() -> str:
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, value, help_text in reference():
        if name == "RELAYSCOPE_PROVIDER_BASE_URLS":
            name, value = "RELAYSCOPE_<PROVIDER>_BASE_URL", "registry"
            help_text = "Override one provider's upstream base, e.g. RELAYSCOPE_OLLAMA_BASE_URL."
        default = SHOWN_DEFAULTS.get(name, _shown(value))
        rows.append(f"| `{name}` | {default} | {help_text.replace('|', '/')} |")
    return "\n".join(rows)


def _shown(value: object) -> str:
    if value in ("", (), None):
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    return f"`{value}`" if isinstance(value, str) else str(value)


def render(readme: str) -> str:
    block = f"{START}\n{table()}\n{END}"
    return re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _m: block, readme, flags=re.S)


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
