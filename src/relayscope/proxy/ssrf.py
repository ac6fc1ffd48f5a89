"""Refuses client-named upstreams that resolve to internal addresses.

``Helicone-Target-Url`` (and fallback target) hosts pass the allowlist by name;
this resolver then checks every address the name resolves to, at connect time,
so a public name that points (or is re-pointed) at loopback, a private range or
link-local metadata endpoints is never reached. IP literals never come through a
resolver: one can only reach the proxy by being listed in the allowlist itself,
which is the operator allowing it explicitly.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver


class BlockedAddress(OSError):
    """The target host resolves to an address the gateway must not reach."""


def is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


class GuardedResolver(AbstractResolver):
    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        blocked = [r["host"] for r in results if is_internal(r["host"])]
        if blocked:
            raise BlockedAddress(f"{host} resolves to internal address {blocked[0]}")
        return results

    async def close(self) -> None:
        await self._inner.close()
