"""Property-based: every feature's header parser, fed anything, parses or raises an
``InvalidHeader`` (400) naming one of its headers; never another exception (a 500).

Each feature is one ``HeaderParser`` row: the headers it reads and a function that
parses them as its stage does. A new header-reading feature adds a row.
(The core parsers, auth, tags, request id and target URL, are in test_header_fuzz.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayscope.cache.options import read_request
from relayscope.cache.settings import CacheSettings
from relayscope.context import Context, Tags
from relayscope.errors import InvalidHeader
from relayscope.prompts.stage import parse_variables
from relayscope.prompts.stage import parse_version as parse_prompt_version
from relayscope.prompts.template import MissingVariables, Template
from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.routing import Allowlist, Router
from relayscope.ratelimit.stage import bind
from relayscope.retry.fallbacks import MAX_ENTRIES, parse_fallback_headers
from relayscope.retry.plan import plan_routes
from relayscope.retry.policy import parse_retry_headers

CACHE_SETTINGS = CacheSettings()
ROUTER = Router(ProviderRegistry(), Allowlist(["api.example.com"]))
CHAT = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})


# --- what a client might send -------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)
fallback_entries = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "model": st.one_of(
                st.sampled_from(["gpt-4o-mini", "claude-3-5-haiku", ""]), json_values
            ),
            "provider": st.one_of(
                st.sampled_from(["openai", "anthropic", "groq", "nope"]), json_values
            ),
            "api_key": st.one_of(st.just("sk-x"), json_values),
            "target-url": st.one_of(
                st.sampled_from(["https://api.example.com", "http://10.0.0.1", "ftp://x", ""]),
                json_values,
            ),
            "headers": st.one_of(
                st.dictionaries(
                    st.sampled_from(["x-a", "Host", "bad name", "helicone-x"]), json_values
                ),
                json_values,
            ),
            "onCodes": st.one_of(
                st.lists(
                    st.one_of(
                        st.integers(-1000, 1000),
                        st.fixed_dictionaries({"from": json_values, "to": json_values}),
                        json_values,
                    ),
                    max_size=3,
                ),
                json_values,
            ),
            "bodyKeyOverride": json_values,
        },
    ),
    max_size=12,
)
header_values = st.one_of(
    st.text(st.characters(codec="latin-1"), max_size=200),
    st.text(max_size=40),  # any UTF-8 text: the proxy decodes header bytes as UTF-8 first
    st.sampled_from(
        [
            "true",
            "false",
            " TRUE ",
            "1",
            "0",
            "-1",
            "nan",
            "inf",
            "-inf",
            "1e309",
            "-0",
            "",
            "0.5",
            "max-age=60",
            "max-age=",
            'max-age="10"',
            "no-store, max-age=5",
            "a,b,,c",
        ]
    ),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.integers(0, 10**9).map(lambda n: f"max-age={n}"),
    st.text("0123456789", min_size=4300, max_size=5000),  # past int()'s digit limit
    st.text("0123456789", min_size=4300, max_size=5000).map(lambda d: f"max-age={d}"),
    # Digits that str.isdigit() or isdecimal() accept besides 0-9 (Arabic-Indic, full width,
    # superscript two): int() takes some of them and refuses others.
    st.text("\u0660\u0661\u0669\uff10\uff11\uff19\u00b20123456789", min_size=1, max_size=8),
    st.integers(1, 3000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(1, 3000).map(lambda depth: '{"a":' * depth + "1" + "}" * depth),
    json_values.map(lambda value: orjson.dumps(value).decode()),
    fallback_entries.map(lambda value: orjson.dumps(value).decode()),
    st.sampled_from(["[1e999]", "[99999999999999999999999]", '{"question": NaN}']),
)
numbers = st.one_of(
    st.integers(-10, 10**6).map(str),
    st.text("0123456789", min_size=4300, max_size=5000),  # past int()'s digit limit
    st.integers(310, 500).map(lambda n: "9" * n),  # past float's range: inf
    st.text("\u0660\u0661\u0669\uff10\uff11\u00b20123456789", min_size=1, max_size=8),
    st.floats().map(repr),
    st.sampled_from(["nan", "inf", "-0", "1e309", "0x10", "1_000", " 7 ", ""]),
)
"""Numbers as headers carry them, and the numbers that broke int() and float()."""
# Rate-limit policies: <quota>;w=<seconds>[;u=<unit>][;s=<segment>].
rate_limit_policies = st.tuples(
    st.one_of(
        st.integers(0, 10**6).map(str),
        st.integers(300, 500).map(lambda n: "9" * n),  # past float's range: inf
        st.sampled_from(["0.5", "1e3", "-1", "", "\u0661\u0662"]),
    ),
    st.sampled_from(["w=60", "w=60", "w=60", "w=0", "w=1.5", "w=" + "9" * 400, "W = 5"]),
    st.lists(
        st.sampled_from(
            ["u=cents", "u=user", "u=org", "u=x", "s=user", "s=tier", "s=bad value", "x=1", ""]
        ),
        max_size=2,
    ),
).map(lambda parts: ";".join([parts[0], parts[1], *parts[2]]))


@dataclass(frozen=True)
class HeaderParser:
    name: str
    headers: tuple[str, ...]
    """The headers it reads, as the proxy hands them over (lower case)."""
    parse: Callable[[dict[str, str]], Any]
    base: Mapping[str, str] = field(default_factory=dict)
    """Headers always sent, e.g. the switch that makes the others count."""
    shaped: Mapping[str, st.SearchStrategy[str]] = field(default_factory=dict)
    """Values shaped like a header's grammar; such a header gets one half the time."""


def parse_cache(headers: dict[str, str]) -> Any:
    raw = headers.get("cache-control")
    options, _warnings = read_request(
        headers, raw.encode() if raw is not None else None, CACHE_SETTINGS
    )
    if options is None:
        return None
    assert 1 <= options.bucket_size <= CACHE_SETTINGS.max_bucket_size
    assert 0 <= options.ttl <= CACHE_SETTINGS.max_ttl
    assert 0.0 <= options.similarity <= 1.0
    return options


def parse_retry(headers: dict[str, str]) -> Any:
    policy = parse_retry_headers(headers)
    if policy is not None:
        assert 0 <= policy.retries <= 10
        assert policy.min_timeout_ms <= policy.max_timeout_ms
        assert 0 <= policy.backoff_s(policy.retries) <= policy.max_timeout_ms / 1000
    return policy


def context(headers: dict[str, str]) -> Context:
    """A chat request to OpenAI carrying ``headers``, as the proxy builds it."""
    tier = headers.get("helicone-property-tier")
    return Context(
        request_id="r",
        org_id="o",
        key_id="k",
        method="POST",
        path="/openai/v1/chat/completions",
        query=b"",
        target=ROUTER.route("/openai/v1/chat/completions", {}),
        headers=[],
        helicone=headers,
        client_body=CHAT,
        tags=Tags(
            user_id=headers.get("helicone-user-id"),
            properties={"tier": tier} if tier is not None else {},
        ),
        body=CHAT,
    )


def parse_fallbacks(headers: dict[str, str]) -> Any:
    entries = parse_fallback_headers(headers)
    assert len(entries) <= MAX_ENTRIES
    if entries:
        # What the retry stage does next with them, still before any call.
        plan_routes(context(headers), entries, ROUTER)
    return entries


def parse_rate_limit(headers: dict[str, str]) -> Any:
    bound = bind(context(headers), headers.get("helicone-ratelimit-policy"), [])
    for item in bound:
        assert item.policy.quota > 0 and item.policy.window >= 1
    return bound


PROMPT = Template([{"role": "user", "content": "{{question}} for {{ name }}"}])


def parse_prompt(headers: dict[str, str]) -> Any:
    variables = parse_variables(headers.get("helicone-prompt-variables"))
    version = parse_prompt_version(headers.get("helicone-prompt-version"))
    try:
        filled = PROMPT.fill(variables)
    except MissingVariables:
        return version  # the stage turns it into an InvalidHeader naming the variables
    orjson.dumps(filled.to_json())  # the filled body must serialise
    return version


PARSERS = [
    HeaderParser(
        "cache",
        (
            "helicone-cache-enabled",
            "helicone-cache-seed",
            "helicone-cache-bucket-max-size",
            "helicone-cache-ignore-keys",
            "helicone-cache-semantic",
            "helicone-cache-similarity",
            "cache-control",
        ),
        parse_cache,
        base={"helicone-cache-enabled": "true"},
        shaped={
            "helicone-cache-bucket-max-size": numbers,
            "helicone-cache-similarity": numbers,
            "cache-control": numbers.map(lambda n: f"max-age={n}"),
        },
    ),
    HeaderParser(
        "retry",
        (
            "helicone-retry-enabled",
            "helicone-retry-num",
            "helicone-retry-factor",
            "helicone-retry-min-timeout",
            "helicone-retry-max-timeout",
        ),
        parse_retry,
        base={"helicone-retry-enabled": "true"},
        shaped={
            name: numbers
            for name in (
                "helicone-retry-num",
                "helicone-retry-factor",
                "helicone-retry-min-timeout",
                "helicone-retry-max-timeout",
            )
        },
    ),
    HeaderParser(
        "fallback",
        ("helicone-fallback", "helicone-fallbacks"),
        parse_fallbacks,
        shaped={
            name: fallback_entries.map(lambda value: orjson.dumps(value).decode())
            for name in ("helicone-fallback", "helicone-fallbacks")
        },
    ),
    HeaderParser(
        "prompt",
        ("helicone-prompt-variables", "helicone-prompt-version"),
        parse_prompt,
        shaped={
            "helicone-prompt-variables": json_values.map(lambda v: orjson.dumps(v).decode()),
            "helicone-prompt-version": numbers,
        },
    ),
    HeaderParser(
        "rate-limit",
        ("helicone-ratelimit-policy", "helicone-user-id", "helicone-property-tier"),
        parse_rate_limit,
        base={"helicone-ratelimit-policy": "10;w=60"},
        shaped={"helicone-ratelimit-policy": rate_limit_policies},
    ),
]


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.name)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parses_or_refuses_naming_the_header(parser: HeaderParser, data: st.DataObject):
    names = data.draw(st.sets(st.sampled_from(parser.headers), max_size=len(parser.headers)))
    sent = {}
    for name in sorted(names):
        shaped = parser.shaped.get(name)
        # Chosen by a coin, not one_of, which flattens and would dilute the shaped values.
        use_shaped = shaped is not None and data.draw(st.booleans())
        sent[name] = data.draw(shaped if use_shaped else header_values)
    headers = {**parser.base, **sent}
    try:
        parser.parse(headers)
    except InvalidHeader as exc:
        assert exc.status == 400
        assert exc.header.lower() in parser.headers, exc.header
        assert exc.header in exc.message
        assert exc.body()  # renders as the OpenAI-style error object
