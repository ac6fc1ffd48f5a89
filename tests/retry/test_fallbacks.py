"""The shapes of Helicone-Fallback and Helicone-Fallbacks."""

from __future__ import annotations

import orjson
import pytest

from relayscope.errors import InvalidHeader
from relayscope.retry.fallbacks import DEFAULT_ON_CODES, parse_fallback_headers


def seed(value: object) -> dict[str, str]:
    return {"helicone-fallback": orjson.dumps(value).decode()}


def gateway(value: object) -> dict[str, str]:
    return {"helicone-fallbacks": orjson.dumps(value).decode()}


def test_seed_entries():
    entries = parse_fallback_headers(
        seed(
            [
                {"model": "gpt-4o-mini"},
                {"provider": "Anthropic", "model": "claude-3-5-haiku", "api_key": "sk-x"},
            ]
        )
    )
    assert [(e.model, e.provider) for e in entries] == [
        ("gpt-4o-mini", None),
        ("claude-3-5-haiku", "anthropic"),
    ]
    assert entries[1].api_key == "sk-x"
    assert "sk-x" not in repr(entries[1])
    assert 503 in entries[0].on_codes and 429 in entries[0].on_codes
    assert 400 not in entries[0].on_codes


def test_gateway_entries_with_codes_headers_and_overrides():
    (entry,) = parse_fallback_headers(
        gateway(
            [
                {
                    "target-url": "https://api.example.com",
                    "headers": {"Authorization": "Bearer k"},
                    "onCodes": [401, {"from": 500, "to": 503}],
                    "bodyKeyOverride": {"model": "m"},
                }
            ]
        )
    )
    assert entry.target_url == "https://api.example.com"
    assert entry.headers == (("authorization", "Bearer k"),)
    assert [code in entry.on_codes for code in (401, 429, 500, 503, 504)] == [
        True,
        False,
        True,
        True,
        False,
    ]
    assert entry.body_override == {"model": "m"}


def test_gateway_entries_default_to_429_and_5xx():
    (entry,) = parse_fallback_headers(gateway([{"target-url": "https://a.example"}]))
    assert entry.on_codes == DEFAULT_ON_CODES


@pytest.mark.parametrize(
    ("headers", "header", "mentions"),
    [
        ({"helicone-fallback": "[{"}, "Helicone-Fallback", "JSON"),
        (seed({"model": "x"}), "Helicone-Fallback", "list"),
        (seed([]), "Helicone-Fallback", "non-empty"),
        (seed(["gpt-4o"]), "Helicone-Fallback", "entry 0"),
        (seed([{"model": "x", "temperature": 1}]), "Helicone-Fallback", "'temperature'"),
        (seed([{}]), "Helicone-Fallback", "model or a provider"),
        (seed([{"model": 4}]), "Helicone-Fallback", "model"),
        (seed([{"model": "x", "headers": {"Host": "a"}}]), "Helicone-Fallback", "'Host'"),
        (seed([{"model": "x", "headers": {"a b": "c"}}]), "Helicone-Fallback", "'a b'"),
        (seed([{"model": "x"}] * 11), "Helicone-Fallback", "more than 10"),
        (gateway([{"headers": {}}]), "Helicone-Fallbacks", "target-url"),
        (gateway([{"target-url": "https://a", "on": [1]}]), "Helicone-Fallbacks", "'on'"),
        (gateway([{"target-url": "https://a", "onCodes": [99]}]), "Helicone-Fallbacks", "onCodes"),
        (
            gateway([{"target-url": "https://a", "onCodes": [{"from": 500}]}]),
            "Helicone-Fallbacks",
            "onCodes",
        ),
        (
            gateway([{"target-url": "https://a", "bodyKeyOverride": [1]}]),
            "Helicone-Fallbacks",
            "bodyKeyOverride",
        ),
        (
            {**seed([{"model": "x"}]), **gateway([{"target-url": "https://a"}])},
            "Helicone-Fallbacks",
            "combined",
        ),
    ],
)
def test_malformed_values_name_their_header(headers, header, mentions):
    with pytest.raises(InvalidHeader) as caught:
        parse_fallback_headers(headers)
    assert caught.value.param == header
    assert mentions in caught.value.message
