"""Parsing of the ``Helicone-*`` tag headers (user, session, properties, ids)."""

from __future__ import annotations

import re
import string
import uuid

from relayscope.context import Tags
from relayscope.errors import InvalidHeader

PROPERTY_PREFIX = "helicone-property-"
MAX_ID = 256
MAX_PATH = 1024
MAX_PROPERTY_NAME = 128
MAX_PROPERTY_VALUE = 4096
MAX_PROPERTIES = 64

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", re.ASCII)
_OWS = " \t"
"""HTTP's optional white space around a header value: nothing else is trimmed."""
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
REQUEST_NAME_PROPERTY = "helicone-request-name"
_HEADER_NAMES = {
    "helicone-user-id": "Helicone-User-Id",
    "helicone-session-id": "Helicone-Session-Id",
    "helicone-session-path": "Helicone-Session-Path",
    "helicone-session-name": "Helicone-Session-Name",
    "helicone-request-name": "Helicone-Request-Name",
}


def _checked(header: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidHeader(header, f"longer than {limit} characters")
    if _CONTROL.search(value):
        raise InvalidHeader(header, "contains control characters")
    return value


def property_name(name: str) -> str:
    """The canonical spelling of a property name: ASCII lower case.

    HTTP header names are case-insensitive and clients differ in how they send them
    (the openai SDK lower-cases them, curl and the anthropic SDK do not), so
    ``Helicone-Property-Feature`` and ``helicone-property-feature`` are one property,
    ``feature``, as in Helicone (whose header names arrive byte-lower-cased). Every
    place that stores, filters or matches a property name goes through this.
    """
    return name.translate(_ASCII_LOWER)


def parse_tags(helicone: dict[str, str]) -> Tags:
    """Tags from the ``helicone`` headers, keyed by lower-case name."""
    tags = Tags()
    for lower, header in _HEADER_NAMES.items():
        value = helicone.get(lower)
        if value is not None:
            limit = MAX_PATH if lower == "helicone-session-path" else MAX_ID
            setattr(
                tags,
                lower.removeprefix("helicone-").replace("-", "_"),
                _checked(header, value, limit),
            )
    if tags.session_path is not None and not tags.session_path.startswith("/"):
        raise InvalidHeader("Helicone-Session-Path", "must start with '/', e.g. /parent/child")
    properties = {}
    for lower, value in helicone.items():
        if not lower.startswith(PROPERTY_PREFIX):
            continue
        name = property_name(lower[len(PROPERTY_PREFIX) :])
        header = f"Helicone-Property-{name}"
        if not name:
            raise InvalidHeader(header, "property name is empty")
        _checked(header, name, MAX_PROPERTY_NAME)
        properties[name] = _checked(header, value, MAX_PROPERTY_VALUE)
    if len(properties) > MAX_PROPERTIES:
        raise InvalidHeader("Helicone-Property-*", f"more than {MAX_PROPERTIES} properties")
    if tags.request_name is not None:
        properties.setdefault(REQUEST_NAME_PROPERTY, tags.request_name)
    tags.properties = properties
    return tags


def body_user_id(body: object) -> str | None:
    """The end user named in a request body, for requests without ``Helicone-User-Id``:
    OpenAI's ``user`` or Anthropic's ``metadata.user_id``.

    Only a non-empty string that would pass as the header counts; anything else is
    ignored rather than refused, since the body is the provider's business.
    """
    if not isinstance(body, dict):
        return None
    for candidate in (body.get("user"), _metadata_user(body.get("metadata"))):
        if isinstance(candidate, str) and _valid_id(candidate):
            return candidate
    return None


def _metadata_user(metadata: object) -> object:
    return metadata.get("user_id") if isinstance(metadata, dict) else None


def _valid_id(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and not _CONTROL.search(value)


def client_request_id(helicone: dict[str, str]) -> str | None:
    """The client's ``Helicone-Request-Id`` (a UUID, in canonical form), if it sent one.

    Only the hyphenated 8-4-4-4-12 hex form is taken. ``uuid.UUID`` alone is too
    lenient for a header: it also takes braces, ``urn:uuid:`` prefixes, hyphens
    anywhere, and whatever ``int(x, 16)`` takes (underscores, signs, non-ASCII digits),
    so two different strings could name one stored id.
    """
    value = helicone.get("helicone-request-id")
    if value is None:
        return None
    value = value.strip(_OWS)
    if not _UUID.fullmatch(value):
        raise InvalidHeader(
            "Helicone-Request-Id", "must be a UUID, e.g. 123e4567-e89b-12d3-a456-426614174000"
        )
    return str(uuid.UUID(value))


def flag(helicone: dict[str, str], header: str) -> bool:
    """A ``true``/``false`` header (absent: false); anything else is a 400 naming it."""
    value = helicone.get(header.lower())
    if value is None:
        return False
    lowered = value.strip(_OWS).lower()
    if lowered not in ("true", "false"):
        raise InvalidHeader(header, f"must be 'true' or 'false', got {value[:40]!r}")
    return lowered == "true"
