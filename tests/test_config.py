"""Settings: instances are independent (no field's default is one object they all share),
values are checked when the settings are read, and unknown variables are named."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from relayscope.cache.settings import CacheSettings
from relayscope.config import ConfigError, Settings, reference, unknown_variables
from relayscope.testing.process import clean_env, free_port

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


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RELAYSCOPE_CACHE_BACKEND", "memcached"),
        ("RELAYSCOPE_RATELIMIT_BACKEND", "disk"),
    ],
)
def test_a_choice_outside_its_values_fails_when_the_settings_are_read(variable, value):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value) == (
        f"Invalid {variable}={value!r}: allowed values are auto, memory, redis"
    )


def test_choices_are_matched_whatever_their_case():
    settings = Settings.from_env(
        {"RELAYSCOPE_CACHE_BACKEND": " Redis", "RELAYSCOPE_RATELIMIT_BACKEND": "MEMORY"}
    )
    assert (settings.cache.backend, settings.ratelimit.backend) == ("redis", "memory")


def test_a_choice_set_in_code_is_checked_too():
    with pytest.raises(ConfigError, match="RELAYSCOPE_CACHE_BACKEND='memcached'"):
        Settings(cache=CacheSettings(backend="memcached"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variable", "value", "allowed"),
    [
        ("RELAYSCOPE_MAX_HEADERS", "lots", "must be an integer"),
        ("RELAYSCOPE_CLIENT_BODY_TIMEOUT", "1m", "must be a number"),
        ("RELAYSCOPE_CACHE_PERSIST", "maybe", "allowed values are 1, true, yes, on, 0, false"),
        ("RELAYSCOPE_LOG_MAX_BODY_BYTES", "100", "must be an integer of at least 1024"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_accepts(variable, value, allowed):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: value})
    message = str(caught.value)
    assert message.startswith(f"Invalid {variable}=") and allowed in message
    assert caught.value.variable == variable


def test_unknown_variables_are_named_with_the_closest_setting():
    warnings = unknown_variables(
        {
            "RELAYSCOPE_CACHE_BACKNED": "redis",
            "RELAYSCOPE_LOG_FLUSH_INTERVALL": "1",
            "RELAYSCOPE_NOTHING_LIKE_IT": "1",
        }
    )
    assert warnings == [
        "Unknown setting RELAYSCOPE_CACHE_BACKNED is ignored; "
        "did you mean RELAYSCOPE_CACHE_BACKEND?",
        "Unknown setting RELAYSCOPE_LOG_FLUSH_INTERVALL is ignored; "
        "did you mean RELAYSCOPE_LOG_FLUSH_INTERVAL?",
        "Unknown setting RELAYSCOPE_NOTHING_LIKE_IT is ignored; `relayscope config` lists them.",
    ]


def test_the_listing_name_of_the_provider_urls_is_no_variable():
    (warning,) = unknown_variables({"RELAYSCOPE_PROVIDER_BASE_URLS": "openai=http://a.example"})
    assert warning.startswith("Unknown setting RELAYSCOPE_PROVIDER_BASE_URLS is ignored")


def test_every_variable_a_setting_reads_is_known():
    known = {name: "1" for name, _value, _help in reference()}
    known.pop("RELAYSCOPE_PROVIDER_BASE_URLS")
    others = {"RELAYSCOPE_OPENAI_BASE_URL": "http://a.example", "PATH": "/bin", "HOME": "/"}
    assert unknown_variables({**known, **others}) == []


@pytest.mark.e2e
def test_serve_stops_at_start_naming_the_bad_value_after_warning_of_unknown_names(tmp_path):
    env = {
        **clean_env(),
        "RELAYSCOPE_DATA_DIR": str(tmp_path),
        "RELAYSCOPE_CACHE_BACKEND": "memcached",
        "RELAYSCOPE_CACHE_BACKNED": "redis",
    }
    result = subprocess.run(
        [sys.executable, "-m", "relayscope", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "WARNING relayscope.config: Unknown setting RELAYSCOPE_CACHE_BACKNED is ignored; "
        "did you mean RELAYSCOPE_CACHE_BACKEND?",
        "Invalid RELAYSCOPE_CACHE_BACKEND='memcached': allowed values are auto, memory, redis",
    ]
    assert result.stdout == "", "nothing was started: no store, no proxy address"
