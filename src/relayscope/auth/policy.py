"""What a virtual key allows: its scopes, expiry, network allowlist and provider credentials.

A ``KeyPolicy`` is built once per key lookup (``relayscope.virtualkeys``) and cached
with the key's answer, so checking a request against it costs no store round trip:
globs are compiled to one regular expression per list, networks parsed once.
Each check returns the error to answer with, or None when the request may go on.
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from relayscope.errors import Forbidden, GatewayError, Unauthorized

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

TOKEN_LIMIT_FIELDS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
"""Body fields that cap a request's output, across OpenAI's chat, Responses and
Anthropic's messages; the key's ``max_tokens`` is checked against each one sent."""


class Globs:
    """Case-sensitive shell-style patterns (``gpt-4o*``); no patterns allow everything."""

    __slots__ = ("_regex", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        joined = "|".join(fnmatch.translate(p) for p in self.patterns)
        self._regex = re.compile(joined) if self.patterns else None

    def allows(self, value: str) -> bool:
        return self._regex is None or self._regex.match(value) is not None

    def __bool__(self) -> bool:
        return bool(self.patterns)


def parse_network(value: str) -> Network:
    """A CIDR block (``10.0.0.0/8``, ``2001:db8::/32``) or one address; ValueError otherwise."""
    return ipaddress.ip_network(value.strip(), strict=False)


@dataclass(frozen=True, slots=True, eq=False)
class KeyPolicy:
    providers: Globs = field(default_factory=lambda: Globs(()))
    models: Globs = field(default_factory=lambda: Globs(()))
    max_tokens: int | None = None
    expires_at: float | None = None
    """Epoch seconds after which the key no longer works."""
    retired_at: float | None = None
    """Set on a rotated-out secret: epoch seconds when its grace period ends."""
    networks: tuple[Network, ...] = ()
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Plaintext provider keys by provider name: in memory only, never logged."""
    _masks: tuple[tuple[int, int, int], ...] = field(init=False, repr=False)
    """``networks`` as (version, network, netmask) integers, for a check in a few ns."""

    def __post_init__(self) -> None:
        masks = tuple(
            (net.version, int(net.network_address), int(net.netmask)) for net in self.networks
        )
        object.__setattr__(self, "_masks", masks)

    def time_refusal(self, now: float) -> GatewayError | None:
        """401 ``key_expired`` once the key expired or its rotated-out secret's grace ended."""
        if self.retired_at is not None and now >= self.retired_at:
            return Unauthorized(
                "This gateway key was rotated and its grace period ended at "
                f"{_iso(self.retired_at)}; use the new key",
                code="key_expired",
            )
        if self.expires_at is not None and now >= self.expires_at:
            return Unauthorized(
                f"This gateway key expired at {_iso(self.expires_at)}", code="key_expired"
            )
        return None

    def address_refusal(self, address: str | None) -> GatewayError | None:
        if not self.networks:
            return None
        ip = _ip(address)
        if ip is not None:
            version, value = ip
            if any(v == version and value & mask == net for v, net, mask in self._masks):
                return None
        return Forbidden(
            f"This gateway key may not be used from {address or 'an unknown address'}",
            code="ip_not_allowed",
        )

    def provider_refusal(self, provider: str) -> GatewayError | None:
        if self.providers.allows(provider):
            return None
        return Forbidden(
            f"This gateway key may not call provider {provider!r} "
            f"(allowed: {', '.join(self.providers.patterns)})",
            code="provider_not_allowed",
        )

    def model_refusal(self, model: str | None) -> GatewayError | None:
        if not self.models or (model is not None and self.models.allows(model)):
            return None
        named = f"model {model!r}" if model is not None else "a request that names no model"
        return Forbidden(
            f"This gateway key may not call {named} (allowed: {', '.join(self.models.patterns)})",
            code="model_not_allowed",
        )

    def tokens_refusal(self, body: object) -> GatewayError | None:
        if self.max_tokens is None or not isinstance(body, dict):
            return None
        for name in TOKEN_LIMIT_FIELDS:
            value = body.get(name)
            if (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and (value > self.max_tokens)
            ):
                return Forbidden(
                    f"{name}={value} is above this gateway key's limit of "
                    f"{self.max_tokens} tokens per request",
                    code="max_tokens_exceeded",
                    param=name,
                )
        return None


@functools.lru_cache(maxsize=4096)
def _ip(address: str | None) -> tuple[int, int] | None:
    """(IP version, address as an integer); an IPv4-mapped IPv6 address is IPv4.
    Cached: parsing costs more than the check, and clients come back."""
    if address is None:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.version, int(ip)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
