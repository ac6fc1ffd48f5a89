"""Property-based: any header value parses or is refused with an error naming it."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from relayscope.auth.keys import KEY_PREFIX, KeyResolver, Principal, hash_key, new_key
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


def _clean(value: str, limit: int) -> bool:
    return len(value) <= limit and all(ord(c) >= 0x20 and c != "\x7f" for c in value)


def reference_tags(headers: dict[str, str]) -> dict[str, object] | None:
    """What parse_tags must return, written without the module's regexes: None when
    the headers must be refused."""
    out: dict[str, object] = {}
    for field in ("user-id", "session-id", "session-name", "request-name"):
        value = headers.get(f"helicone-{field}")
        if value is not None and not _clean(value, 256):
            return None
        out[field] = value
    path = headers.get("helicone-session-path")
    if path is not None and not (_clean(path, 1024) and path[:1] == "/"):
        return None
    out["session-path"] = path
    properties: dict[str, str] = {}
    for header, value in headers.items():
        if not header.startswith("helicone-property-"):
            continue
        name = "".join(c.lower() if "A" <= c <= "Z" else c for c in header[18:])
        if not name or not _clean(name, 128) or not _clean(value, 4096):
            return None
        properties[name] = value
    if len(properties) > 64:
        return None
    if out["request-name"] is not None:
        properties.setdefault("helicone-request-name", str(out["request-name"]))
    out["properties"] = properties
    return out


property_names = st.one_of(
    st.sampled_from(["Feature", "feature", "FEATURE", "", "tier", "Ünïcode", "a\x01b", "x" * 129]),
    st.text(st.characters(codec="latin-1"), max_size=10),
)
tag_headers = st.dictionaries(
    st.one_of(
        st.sampled_from(TAG_HEADERS),
        property_names.map(lambda name: "helicone-property-" + name),
    ),
    st.one_of(header_values, st.sampled_from(["/a/b", "a/b", "/", "x" * 257, "ok"])),
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(tag_headers)
def test_tags_parse_exactly_as_the_reference_or_name_the_header(headers):
    expected = reference_tags(headers)
    try:
        tags = parse_tags(headers)
    except InvalidHeader as exc:
        assert expected is None, f"{headers!r} refused ({exc.message}), the reference takes it"
        assert exc.status == 400 and exc.header.lower().startswith("helicone-")
        assert exc.header in exc.message
        return
    assert expected is not None, f"{headers!r} parsed, the reference refuses it"
    assert tags.user_id == expected["user-id"]
    assert tags.session_id == expected["session-id"]
    assert tags.session_path == expected["session-path"]
    assert tags.session_name == expected["session-name"]
    assert tags.request_name == expected["request-name"]
    assert tags.properties == expected["properties"]


HEX = "0123456789abcdefABCDEF"


def reference_request_id(value: str) -> str | None:
    """What a Helicone-Request-Id must parse to, written without ``uuid`` or ``re``:
    five groups of 8-4-4-4-12 ASCII hex digits joined by hyphens, with spaces or tabs
    around; the id is that text lower-cased. None: the header must be refused."""
    text = value.strip(" \t")
    groups = text.split("-")
    if [len(g) for g in groups] != [8, 4, 4, 4, 12]:
        return None
    if not all(c in HEX for g in groups for c in g):
        return None
    return text.lower()


def reference_flag(value: str) -> bool | None:
    text = value.strip(" \t")
    folded = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
    return {"true": True, "false": False}.get(folded)


uuid_like = st.uuids().map(str)
request_ids = st.one_of(
    header_values,
    uuid_like,
    uuid_like.map(str.upper),
    uuid_like.map(lambda u: f" \t{u} "),
    # What uuid.UUID() takes and a header must not: each names the same 128 bits.
    uuid_like.map(lambda u: "{" + u + "}"),
    uuid_like.map(lambda u: "urn:uuid:" + u),
    uuid_like.map(lambda u: u.replace("-", "")),
    uuid_like.map(lambda u: u.replace("-", "")[:8] + "-" + u.replace("-", "")[8:]),
    uuid_like.map(lambda u: u[:9] + "_" + u[10:]),
    uuid_like.map(lambda u: u[:-1] + "\u0661"),  # an Arabic-Indic digit: int() takes it
    uuid_like.map(lambda u: u + "\x85"),  # str.strip() removes it, HTTP does not
    uuid_like.map(lambda u: "\xa0" + u),
)
flags = st.one_of(
    header_values,
    st.sampled_from(["true", "false", "TRUE", " False\t", "True\x85", "\xa0true", "yes"]),
    st.just("\uff54\uff52\uff55\uff45"),  # "true" in full-width letters
)


@settings(max_examples=500, deadline=None)
@given(request_ids)
def test_request_id_parses_exactly_as_the_reference(value):
    expected = reference_request_id(value)
    try:
        parsed = client_request_id({"helicone-request-id": value})
    except InvalidHeader as exc:
        assert expected is None, f"{value!r} refused, the reference takes it as {expected}"
        assert exc.header == "Helicone-Request-Id" and exc.header in exc.message
        return
    assert parsed == expected, f"{value!r} parsed as {parsed}, the reference says {expected}"


@settings(max_examples=300, deadline=None)
@given(flags)
def test_flag_parses_exactly_as_the_reference(value):
    expected = reference_flag(value)
    try:
        parsed = flag({"helicone-omit-request": value}, "Helicone-Omit-Request")
    except InvalidHeader as exc:
        assert expected is None, f"{value!r} refused, the reference takes it as {expected}"
        assert exc.header == "Helicone-Omit-Request" and exc.header in exc.message
        return
    assert parsed is expected, f"{value!r} parsed as {parsed}, the reference says {expected}"
    assert flag({}, "Helicone-Omit-Request") is False


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


REAL_KEY = new_key()
REVOKED_KEY = new_key()
PRINCIPAL = Principal(org_id="org-fuzz", key_id="key-fuzz")
key_like = st.sampled_from([REAL_KEY, REVOKED_KEY])
mutated_keys = st.one_of(
    key_like,
    key_like.map(lambda k: k[:-1]),
    key_like.map(lambda k: k + "x"),
    key_like.map(str.upper),
    key_like.map(lambda k: k[:20] + k[21:]),
    key_like.map(lambda k: k.replace("sk-relayscope-", "sk-")),
    key_like.map(lambda k: k + " " + k),
    st.text(st.characters(codec="latin-1"), max_size=60).map(lambda t: KEY_PREFIX + t),
)
shaped_auth = st.tuples(
    st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "Token", "", "Bearer:"]),
    st.sampled_from([" ", " ", "  ", "\t", "", " \t "]),
    mutated_keys,
    st.sampled_from(["", " ", "\t", "\x85", ",", "\x00", "/"]),
).map("".join)
auth_values = st.one_of(header_values, shaped_auth, shaped_auth, shaped_auth)


def reference_bearer_key(value: str) -> str | None:
    """The key a Helicone-Auth value carries, if it is 'Bearer <key>' (scheme in any
    case, blanks around); None when the header does not name exactly one key."""
    words = value.split()
    if len(words) != 2 or words[0].lower() != "bearer":
        return None
    return words[1]


@settings(max_examples=1000, deadline=None)
@given(auth_values)
def test_auth_header_resolves_a_principal_only_for_the_real_key(value):
    """The store holds one live key and one revoked one. A principal comes back only
    when the header carries the live key, byte for byte; anything else is a 401
    naming the header (never another error)."""
    hashes = {hash_key(REAL_KEY): PRINCIPAL, hash_key(REVOKED_KEY): None}

    async def lookup(digest: str) -> Principal | None:
        return hashes.get(digest)

    resolver = KeyResolver(lookup)
    try:
        principal = asyncio.run(resolver.resolve(value, "Helicone-Auth"))
    except Unauthorized as exc:
        assert "Helicone-Auth" in exc.message
        if value == f"Bearer {REAL_KEY}":
            raise AssertionError("the real key, sent plainly, was refused") from exc
        return
    except GatewayError as exc:  # pragma: no cover - would be a bug
        raise AssertionError(f"unexpected {exc!r}") from exc
    assert principal == PRINCIPAL
    assert reference_bearer_key(value) == REAL_KEY, f"{value!r} resolved to a principal"
