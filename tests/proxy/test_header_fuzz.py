"""Property-based: any header value parses or is refused with an error naming it."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from relayscope.auth.keys import KeyResolver
from relayscope.errors import GatewayError, InvalidHeader, Unauthorized
from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.routing import Allowlist, Router
from relayscope.proxy.tags import client_request_id, flag, parse_tags

header_values = st.text(st.characters(codec="latin-1"), max_size=300)
TAG_HEADERS = [
    "helicone-user-id",
    "helicone-session-id",
    "helicone-session-path",
    "helicone-session-name",
    "helicone-request-name",
    "helicone-property-feature",
]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(TAG_HEADERS), header_values, max_size=6))
def test_tags_parse_or_name_the_header(headers):
    try:
        tags = parse_tags(headers)
    except InvalidHeader as exc:
        assert exc.status == 400 and exc.header.lower().startswith("helicone-")
        assert exc.header in exc.message
        return
    assert tags.user_id == headers.get("helicone-user-id")


@settings(max_examples=200, deadline=None)
@given(header_values)
def test_request_id_and_flags(value):
    for parse, header in (
        (lambda h: client_request_id(h), "Helicone-Request-Id"),
        (lambda h: flag(h, "Helicone-Omit-Request"), "Helicone-Omit-Request"),
    ):
        try:
            parse({header.lower(): value})
        except InvalidHeader as exc:
            assert exc.header == header and header in exc.message


@settings(max_examples=200, deadline=None)
@given(st.one_of(header_values, st.from_regex(r"https?://[a-z0-9.:\[\]@%-]{0,40}(/[ -~]{0,20})?")))
def test_target_url_routes_or_names_the_header(value):
    router = Router(ProviderRegistry(), Allowlist(["api.example.com", "http://127.0.0.1:9000"]))
    try:
        target = router.route("/v1/chat/completions", {"helicone-target-url": value})
    except InvalidHeader as exc:
        assert exc.header == "Helicone-Target-Url"
        return
    allowed = {"https://api.example.com", "http://127.0.0.1:9000"}
    allowed |= ProviderRegistry().public_origins()
    assert _origin(target.url) in {_origin(a) for a in allowed}


def _origin(url: str) -> tuple[str, str | None, int]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


@settings(max_examples=200, deadline=None)
@given(header_values)
def test_auth_header_is_401_naming_it_or_resolves(value):
    async def lookup(_hash):
        return None

    resolver = KeyResolver(lookup)
    try:
        asyncio.run(resolver.resolve(value, "Helicone-Auth"))
    except Unauthorized as exc:
        assert "Helicone-Auth" in exc.message
    except GatewayError as exc:  # pragma: no cover - would be a bug
        raise AssertionError(f"unexpected {exc!r}") from exc
