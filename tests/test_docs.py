"""The README documents every setting the gateway reads, as the settings describe it."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).parents[1]


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
