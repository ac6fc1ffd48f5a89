"""The two fallback headers, parsed and checked for shape (not yet for the request).

Seed form, ``Helicone-Fallback``: entries tried after the primary request::

    [{"model": "gpt-4o-mini"}, {"provider": "anthropic", "model": "claude-3-5-haiku-latest"}]

Gateway form, ``Helicone-Fallbacks`` (Helicone's)::

    [{"target-url": "https://api.openai.com", "headers": {...},
      "onCodes": [429, {"from": 500, "to": 599}], "bodyKeyOverride": {"model": "..."}}]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from relayscope.errors import InvalidHeader

SEED = "Helicone-Fallback"
GATEWAY = "Helicone-Fallbacks"
MAX_ENTRIES = 10

_SEED_KEYS = frozenset({"model", "provider", "api_key", "headers", "onCodes"})
_GATEWAY_KEYS = frozenset({"target-url", "headers", "onCodes", "bodyKeyOverride"})
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_FORBIDDEN_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "trailer"}
)


@dataclass(frozen=True, slots=True)
class Codes:
    """Statuses an entry's answer must have for the next entry to be tried."""

    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and any(lo <= status <= hi for lo, hi in self.ranges)


DEFAULT_ON_CODES = Codes(((429, 429), (500, 599)))


@dataclass(frozen=True, slots=True)
class Entry:
    """One fallback entry, in either form."""

    header: str
    model: str | None = None
    provider: str | None = None
    target_url: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    """Extra upstream headers, names lower-cased."""
    api_key: str | None = field(default=None, repr=False)
    on_codes: Codes = DEFAULT_ON_CODES
    body_override: Mapping[str, Any] | None = None


def parse_fallback_headers(helicone: Mapping[str, str]) -> list[Entry]:
    """Entries from whichever fallback header is present (both at once is an error)."""
    seed, gateway = helicone.get(SEED.lower()), helicone.get(GATEWAY.lower())
    if seed is not None and gateway is not None:
        raise InvalidHeader(GATEWAY, f"cannot be combined with {SEED}")
    if seed is not None:
        return [_seed_entry(item) for item in _entries(SEED, seed)]
    if gateway is not None:
        return [_gateway_entry(item) for item in _entries(GATEWAY, gateway)]
    return []


def _entries(header: str, value: str) -> list[dict[str, Any]]:
    try:
        items = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidHeader(header, "must be a JSON list of objects") from None
    if not isinstance(items, list) or not items:
        raise InvalidHeader(header, "must be a non-empty JSON list of objects")
    if len(items) > MAX_ENTRIES:
        raise InvalidHeader(header, f"has more than {MAX_ENTRIES} entries")
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidHeader(header, f"entry {position} is not a JSON object")
    return items


def _seed_entry(item: dict[str, Any]) -> Entry:
    _reject_unknown(SEED, item, _SEED_KEYS)
    model = _optional_text(SEED, item, "model")
    provider = _optional_text(SEED, item, "provider")
    api_key = _optional_text(SEED, item, "api_key")
    if model is None and provider is None:
        raise InvalidHeader(SEED, "each entry needs a model or a provider")
    return Entry(
        SEED,
        model=model,
        provider=provider.lower() if provider else None,
        headers=_headers(SEED, item.get("headers")),
        api_key=api_key,
        on_codes=_codes(SEED, item["onCodes"]) if "onCodes" in item else DEFAULT_ON_CODES,
    )


def _gateway_entry(item: dict[str, Any]) -> Entry:
    _reject_unknown(GATEWAY, item, _GATEWAY_KEYS)
    target_url = _optional_text(GATEWAY, item, "target-url")
    if target_url is None:
        raise InvalidHeader(GATEWAY, "each entry needs a target-url")
    override = item.get("bodyKeyOverride")
    if override is not None and not isinstance(override, dict):
        raise InvalidHeader(GATEWAY, "bodyKeyOverride must be a JSON object")
    return Entry(
        GATEWAY,
        target_url=target_url,
        headers=_headers(GATEWAY, item.get("headers")),
        on_codes=_codes(GATEWAY, item["onCodes"]) if "onCodes" in item else DEFAULT_ON_CODES,
        body_override=override or None,
    )


def _reject_unknown(header: str, item: Mapping[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(item) - known)
    if unknown:
        raise InvalidHeader(
            header, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})"
        )


def _optional_text(header: str, item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidHeader(header, f"{key} must be a non-empty string")
    return value.strip()


def _headers(header: str, value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise InvalidHeader(header, "headers must be a JSON object of strings")
    result = []
    for name, text in value.items():
        if not isinstance(text, str) or not _TOKEN.match(name) or "\r" in text or "\n" in text:
            raise InvalidHeader(header, f"header {name!r} must be a valid name with a string value")
        if name.lower() in _FORBIDDEN_HEADERS or name.lower().startswith("helicone-"):
            raise InvalidHeader(header, f"header {name!r} cannot be set per entry")
        result.append((name.lower(), text))
    return tuple(result)


def _codes(header: str, value: Any) -> Codes:
    problem = 'onCodes must be a list of status codes or {"from": N, "to": M} ranges'
    if not isinstance(value, list) or not value:
        raise InvalidHeader(header, problem)
    ranges = []
    for code in value:
        if isinstance(code, int) and not isinstance(code, bool):
            low = high = code
        elif isinstance(code, dict) and set(code) == {"from", "to"}:
            low, high = code["from"], code["to"]
        else:
            raise InvalidHeader(header, problem)
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in (low, high)):
            raise InvalidHeader(header, problem)
        if not 100 <= low <= high <= 599:
            raise InvalidHeader(header, "onCodes must be HTTP statuses (100-599), from <= to")
        ranges.append((low, high))
    return Codes(tuple(ranges))
