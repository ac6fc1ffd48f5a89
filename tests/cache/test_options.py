"""Parsing the cache request headers."""

from __future__ import annotations

import pytest

from relayscope.cache.options import parse_options, wants_cache
from relayscope.cache.settings import DAY, CacheSettings
from relayscope.errors import InvalidHeader

SETTINGS = CacheSettings(max_bucket_size=20)


def test_enabled_is_true_or_false_in_any_case():
    assert wants_cache({"helicone-cache-enabled": "TRUE"})
    assert not wants_cache({"helicone-cache-enabled": "false"})
    assert not wants_cache({})
    with pytest.raises(InvalidHeader) as raised:
        wants_cache({"helicone-cache-enabled": "1"})
    assert raised.value.header == "Helicone-Cache-Enabled"


def test_defaults():
    options = parse_options({}, None, SETTINGS)
    assert options.bucket_size == 1
    assert options.ttl == 7 * DAY
    assert options.seed == "" and options.ignore_keys == frozenset()
    assert options.semantic is False and options.similarity == 0.95


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
        SETTINGS,
    )
    assert options.seed == "user-7"
    assert options.bucket_size == 20
    assert options.ignore_keys == {"user", "metadata"}
    assert options.ttl == 300
    assert options.semantic is True and options.similarity == 0.5


def test_max_age_is_capped_and_other_directives_ignored():
    assert parse_options({}, b"max-age=999999999", SETTINGS).ttl == 365 * DAY
    assert parse_options({}, b"no-transform", SETTINGS).ttl == 7 * DAY


@pytest.mark.parametrize(
    ("helicone", "cache_control", "header"),
    [
        ({"helicone-cache-bucket-max-size": "21"}, None, "Helicone-Cache-Bucket-Max-Size"),
        ({"helicone-cache-bucket-max-size": "-1"}, None, "Helicone-Cache-Bucket-Max-Size"),
        ({"helicone-cache-similarity": "-0.1"}, None, "Helicone-Cache-Similarity"),
        ({"helicone-cache-similarity": "nan"}, None, "Helicone-Cache-Similarity"),
        ({"helicone-cache-semantic": "on"}, None, "Helicone-Cache-Semantic"),
        ({"helicone-cache-seed": "s" * 300}, None, "Helicone-Cache-Seed"),
        ({}, b"max-age=-5", "Cache-Control"),
    ],
)
def test_bad_values_name_their_header(helicone, cache_control, header):
    with pytest.raises(InvalidHeader) as raised:
        parse_options(helicone, cache_control, SETTINGS)
    assert raised.value.header == header
