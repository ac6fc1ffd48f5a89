"""The README documents every setting the gateway reads."""

from pathlib import Path

from relayscope.config import reference

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_readme():
    missing = [
        name
        for name, _value, _help in reference()
        if name != "RELAYSCOPE_PROVIDER_BASE_URLS" and f"`{name}`" not in README
    ]
    assert not missing, f"settings missing from README's configuration table: {missing}"
