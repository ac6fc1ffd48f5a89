"""The documentation (README and docs/) names every setting the gateway reads."""

from pathlib import Path

from relayscope.config import reference

ROOT = Path(__file__).parents[1]
README = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted(ROOT.glob("docs/*.md"))])


def test_every_setting_is_in_the_readme():
    missing = [
        name
        for name, _value, _help in reference()
        if name != "RELAYSCOPE_PROVIDER_BASE_URLS" and f"`{name}`" not in README
    ]
    assert not missing, f"settings missing from the README and docs/: {missing}"
