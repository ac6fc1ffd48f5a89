"""A virtual key's settings as the API and the CLI take them, checked field by field.

Every problem is a 400 naming the field (``param``), so a client sees what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from relayscope.auth.keys import PROXY, ROLES
from relayscope.auth.policy import parse_network
from relayscope.errors import BadRequest
from relayscope.retry.api import PROVIDER_NAMES, check_key

MAX_PATTERNS = 100
MAX_PATTERN_CHARS = 200
MAX_NAME_CHARS = 200
MAX_METADATA_BYTES = 16 * 1024
MAX_GRACE_SECONDS = 30 * 24 * 3600
DEFAULT_GRACE_SECONDS = 3600

SCOPE_FIELDS = frozenset({"providers", "models", "max_tokens", "ip_allowlist"})
CREATE_FIELDS = frozenset({"name", "role", "expires_at", "scopes", "metadata", "credentials"})
UPDATE_FIELDS = CREATE_FIELDS - {"role"}


@dataclass(frozen=True, slots=True)
class Scopes:
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    max_tokens: int | None = None
    ip_allowlist: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "providers": list(self.providers),
            "models": list(self.models),
            "max_tokens": self.max_tokens,
            "ip_allowlist": list(self.ip_allowlist),
        }

    @classmethod
    def from_json(cls, raw: object) -> Scopes:
        """Scopes as stored (already checked when they were written)."""
        if not isinstance(raw, dict):
            return cls()
        max_tokens = raw.get("max_tokens")
        return cls(
            tuple(raw.get("providers") or ()),
            tuple(raw.get("models") or ()),
            max_tokens if isinstance(max_tokens, int) else None,
            tuple(raw.get("ip_allowlist") or ()),
        )

    def __bool__(self) -> bool:
        return bool(self.providers or self.models or self.ip_allowlist) or (
            self.max_tokens is not None
        )


@dataclass(frozen=True, slots=True)
class KeySpec:
    """A new key's settings."""

    name: str | None = None
    role: str = PROXY
    expires_at: datetime | None = None
    scopes: Scopes = field(default_factory=Scopes)
    metadata: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class KeyChanges:
    """What an update changes: only the fields it names (``changed``)."""

    changed: frozenset[str]
    name: str | None = None
    expires_at: datetime | None = None
    scopes: Scopes = field(default_factory=Scopes)
    metadata: dict[str, Any] = field(default_factory=dict)
    credentials: dict[str, str | None] = field(default_factory=dict, repr=False)
    """Provider keys to set, or None to remove one; providers not named are kept."""


def parse_create(payload: object) -> KeySpec:
    data = _object(payload, CREATE_FIELDS, "body")
    role = data.get("role", PROXY)
    if role not in ROLES:
        raise BadRequest(f"'role' must be one of {', '.join(ROLES)}", param="role")
    credentials = parse_credentials(data.get("credentials", {}))
    if any(value is None for value in credentials.values()):
        raise BadRequest("'credentials' values must be provider keys", param="credentials")
    return KeySpec(
        name=parse_name(data.get("name")),
        role=role,
        expires_at=parse_expiry(data.get("expires_at")),
        scopes=parse_scopes(data.get("scopes", {})),
        metadata=parse_metadata(data.get("metadata", {})),
        credentials={p: k for p, k in credentials.items() if k is not None},
    )


def parse_update(payload: object) -> KeyChanges:
    data = _object(payload, UPDATE_FIELDS, "body")
    return KeyChanges(
        changed=frozenset(data),
        name=parse_name(data.get("name")),
        expires_at=parse_expiry(data.get("expires_at")),
        scopes=parse_scopes(data.get("scopes", {})),
        metadata=parse_metadata(data.get("metadata", {})),
        credentials=parse_credentials(data.get("credentials", {})),
    )


def parse_grace(value: object) -> int:
    """Seconds the old secret stays valid after a rotation."""
    if value is None:
        return DEFAULT_GRACE_SECONDS
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_SECONDS:
        raise BadRequest(
            f"'grace_seconds' must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS}",
            param="grace_seconds",
        )
    return value


def parse_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME_CHARS:
        raise BadRequest(f"'name' must be a string of at most {MAX_NAME_CHARS} characters")
    return value


def parse_expiry(value: object) -> datetime | None:
    """An ISO 8601 time with a zone (``2027-01-01T00:00:00Z``), or null for never."""
    if value is None:
        return None
    problem = "'expires_at' must be an ISO 8601 time with a time zone, or null"
    if not isinstance(value, str):
        raise BadRequest(problem, param="expires_at")
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(problem, param="expires_at") from None
    if when.tzinfo is None:
        raise BadRequest(problem, param="expires_at")
    return when.astimezone(UTC)


def parse_scopes(value: object) -> Scopes:
    data = _object(value, SCOPE_FIELDS, "scopes")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise BadRequest("'scopes.max_tokens' must be a positive integer", param="scopes")
    networks = _patterns(data.get("ip_allowlist"), "ip_allowlist")
    for entry in networks:
        try:
            parse_network(entry)
        except ValueError:
            raise BadRequest(
                f"'scopes.ip_allowlist' entry {entry!r} is not an address or CIDR block",
                param="scopes",
            ) from None
    return Scopes(
        providers=_patterns(data.get("providers"), "providers"),
        models=_patterns(data.get("models"), "models"),
        max_tokens=max_tokens,
        ip_allowlist=networks,
    )


def parse_metadata(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest("'metadata' must be a JSON object", param="metadata")
    if len(orjson.dumps(value)) > MAX_METADATA_BYTES:
        raise BadRequest(
            f"'metadata' must be at most {MAX_METADATA_BYTES} bytes of JSON", param="metadata"
        )
    return value


def parse_credentials(value: object) -> dict[str, str | None]:
    """``{"openai": "sk-...", "anthropic": null}``: provider keys by registry name."""
    if not isinstance(value, Mapping):
        raise BadRequest(
            "'credentials' must be an object of provider keys by provider name",
            param="credentials",
        )
    credentials: dict[str, str | None] = {}
    for provider, key in value.items():
        if provider not in PROVIDER_NAMES:
            known = ", ".join(sorted(PROVIDER_NAMES))
            raise BadRequest(
                f"'credentials' names unknown provider {provider!r} (known: {known})",
                param="credentials",
            )
        credentials[provider] = None if key is None else check_key(key)
    return credentials


def _patterns(value: object, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or len(value) > MAX_PATTERNS
        or not all(isinstance(p, str) and 0 < len(p.strip()) <= MAX_PATTERN_CHARS for p in value)
    ):
        raise BadRequest(
            f"'scopes.{name}' must be a list of at most {MAX_PATTERNS} non-empty strings",
            param="scopes",
        )
    return tuple(p.strip() for p in value)


def _object(value: object, allowed: frozenset[str], name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"'{name}' must be a JSON object", param=name)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise BadRequest(
            f"'{name}' has unknown fields {', '.join(unknown)} "
            f"(known: {', '.join(sorted(allowed))})",
            param=name,
        )
    return value
