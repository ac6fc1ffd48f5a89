"""Settings instances are independent: no field's default is one object they all share."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from relayscope.config import Settings

_MUTABLE = (list, dict, set, bytearray)


def mutable_values(settings: Any, where: str = "Settings") -> Iterator[tuple[str, Any]]:
    """(dotted name, value) of every mutable value in ``settings`` and its sections."""
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if dataclasses.is_dataclass(value):
            yield from mutable_values(value, f"{where}.{f.name}")
        elif isinstance(value, _MUTABLE):
            yield f"{where}.{f.name}", value


def test_provider_base_urls_are_not_shared_between_instances():
    first, second = Settings(), Settings()
    first.provider_base_urls["openai"] = "http://attacker.example"  # type: ignore[index]
    assert second.provider_base_urls == {}
    assert Settings().provider_base_urls == {}


def test_no_settings_section_shares_a_mutable_default():
    first = dict(mutable_values(Settings()))
    second = dict(mutable_values(Settings()))
    assert first, "expected at least provider_base_urls"
    shared = [name for name, value in first.items() if value is second[name]]
    assert shared == []


def test_from_env_reads_provider_base_urls_per_instance():
    one = Settings.from_env({"RELAYSCOPE_OPENAI_BASE_URL": "http://a.example"})
    other = Settings.from_env({})
    assert dict(one.provider_base_urls) == {"openai": "http://a.example"}
    assert dict(other.provider_base_urls) == {}
