"""Parsing of the ``Helicone-*`` tag headers (user, session, properties, ids)."""

from __future__ import annotations

import re
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


def parse_tags(helicone: dict[str, str], property_names: dict[str, str]) -> Tags:
    """Tags from lower-cased ``helicone`` headers.

    ``property_names`` maps each lower-case property header to its name as sent,
    so ``Helicone-Property-Feature`` is stored as ``Feature``.
    """
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
        sent = property_names.get(lower, lower)
        name = sent[len(PROPERTY_PREFIX) :]
        header = f"Helicone-Property-{name}"
        if not name:
            raise InvalidHeader(header, "property name is empty")
        _checked(header, name, MAX_PROPERTY_NAME)
        properties[name] = _checked(header, value, MAX_PROPERTY_VALUE)
    if len(properties) > MAX_PROPERTIES:
        raise InvalidHeader("Helicone-Property-*", f"more than {MAX_PROPERTIES} properties")
    if tags.request_name is not None:
        properties.setdefault("Helicone-Request-Name", tags.request_name)
    tags.properties = properties
    return tags


def client_request_id(helicone: dict[str, str]) -> str | None:
    """The client's ``Helicone-Request-Id`` (a UUID, in canonical form), if it sent one."""
    value = helicone.get("helicone-request-id")
    if value is None:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise InvalidHeader("Helicone-Request-Id", "must be a UUID") from None


def flag(helicone: dict[str, str], header: str) -> bool:
    """A ``true``/``false`` header (absent: false); anything else is a 400 naming it."""
    value = helicone.get(header.lower())
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise InvalidHeader(header, f"must be 'true' or 'false', got {value[:40]!r}")
    return lowered == "true"
