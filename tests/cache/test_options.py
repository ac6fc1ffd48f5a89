"""Parsing the cache request headers."""

from __future__ import annotations

import pytest

from relayscope.cache.options import CacheOptions, read_request
from relayscope.cache.settings import DAY, CacheSettings
from relayscope.errors import InvalidHeader

SETTINGS = CacheSettings(max_bucket_size=20)


def parse_options(helicone: dict[str, str], cache_control: bytes | None) -> CacheOptions:
    options, warnings = read_request(
        {"helicone-cache-enabled": "true", **helicone}, cache_control, SETTINGS
    )
    assert options is not None and warnings == []
    return options


def warned(helicone: dict[str, str], cache_control: bytes | None = None) -> list[str]:
    options, warnings = read_request(
        {"helicone-cache-enabled": "true", **helicone}, cache_control, SETTINGS
    )
    assert options is not None
    return warnings


def test_only_true_in_any_case_enables_the_cache():
    assert read_request({"helicone-cache-enabled": "TRUE"}, None, SETTINGS)[0] is not None
    assert read_request({"helicone-cache-enabled": "false"}, None, SETTINGS) == (None, [])
    assert read_request({}, None, SETTINGS) == (None, [])
    for value in ("1", "yes", "on", ""):
        options, warnings = read_request({"helicone-cache-enabled": value}, None, SETTINGS)
        assert options is None
        assert [header for header, _ in warnings] == ["Helicone-Cache-Enabled"]


def test_defaults():
    options = parse_options({}, None)
    assert options.bucket_size == 1
    assert options.ttl == 7 * DAY
    assert options.seed == "" and options.ignore_keys == frozenset()
    assert options.semantic is False and options.similarity == 0.85


def test_values_are_read():
    options = parse_options(
        {
            "helicone-cache-seed": " user-7 ",
            "helicone-cache-bucket-max-size": "20",
            "helicone-cache-ignore-keys": "user, metadata,,",
            "helicone-cache-semantic": "true",
            "helicone-cache-similarity": "0.5",
        },
        b"public, max-age=300",
    )
    assert options.seed == "user-7"
    assert options.bucket_size == 20
    assert options.ignore_keys == {"user", "metadata"}
    assert options.ttl == 300
    assert options.semantic is True and options.similarity == 0.5


def test_max_age_is_capped_and_other_directives_ignored():
    assert parse_options({}, b"max-age=999999999").ttl == 365 * DAY
    assert parse_options({}, b"no-transform").ttl == 7 * DAY


@pytest.mark.parametrize(
    ("cache_control", "ttl"),
    [
        (b"max-age=3600, s-maxage=1", 1),
        (b"s-maxage=1, max-age=3600", 1),
        (b'public, S-MaxAge="20"', 20),
        (b"s-maxage=999999999, max-age=5", 365 * DAY),
        (b"max-age=0, s-maxage=60", 60),
        (b"s-maxage=0, max-age=60", 0),
        (b"private, max-age=30", 30),
    ],
)
def test_s_maxage_takes_precedence_over_max_age(cache_control, ttl):
    assert parse_options({}, cache_control).ttl == ttl


def test_a_long_seed_is_just_a_longer_namespace():
    assert parse_options({"helicone-cache-seed": "s" * 300}, None).seed == "s" * 300


def test_a_bucket_above_the_maximum_is_refused_as_in_helicone():
    with pytest.raises(InvalidHeader) as raised:
        read_request(
            {"helicone-cache-enabled": "true", "helicone-cache-bucket-max-size": "21"},
            None,
            SETTINGS,
        )
    assert raised.value.header == "Helicone-Cache-Bucket-Max-Size"


@pytest.mark.parametrize(
    ("helicone", "cache_control", "header", "ignored"),
    [
        ({"helicone-cache-bucket-max-size": "-1"}, None, "Helicone-Cache-Bucket-Max-Size", 1),
        ({"helicone-cache-bucket-max-size": "x"}, None, "Helicone-Cache-Bucket-Max-Size", 1),
        ({"helicone-cache-similarity": "-0.1"}, None, "Helicone-Cache-Similarity", 0.85),
        ({"helicone-cache-similarity": "nan"}, None, "Helicone-Cache-Similarity", 0.85),
        ({"helicone-cache-semantic": "on"}, None, "Helicone-Cache-Semantic", False),
        ({}, b"max-age=-5", "Cache-Control", 7 * DAY),
        ({}, b"s-maxage=soon, max-age=30", "Cache-Control", 30),
    ],
)
def test_malformed_values_are_ignored_with_a_warning_naming_the_header(
    helicone, cache_control, header, ignored
):
    warnings = warned(helicone, cache_control)
    assert len(warnings) == 1 and warnings[0][0] == header
    options, _ = read_request(
        {"helicone-cache-enabled": "true", **helicone}, cache_control, SETTINGS
    )
    assert options is not None
    field = {
        "Helicone-Cache-Bucket-Max-Size": options.bucket_size,
        "Helicone-Cache-Similarity": options.similarity,
        "Helicone-Cache-Semantic": options.semantic,
        "Cache-Control": options.ttl,
    }[header]
    assert field == ignored
