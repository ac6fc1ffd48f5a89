"""From the path a client called (and maybe ``Helicone-Target-Url``) to an upstream URL.

Upstreams come only from the provider registry or from the operator's allowlist:
no header can make the gateway reach a host the operator did not allow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import orjson

from relayscope.context import Target
from relayscope.errors import InvalidHeader, NotFound
from relayscope.providers.registry import ProviderRegistry

_AZURE_RESOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_AZURE_BASE = re.compile(r"^https://([a-z0-9][a-z0-9-]{0,62})\.openai\.azure\.com/?$")


class Allowlist:
    """Origins a ``Helicone-Target-Url`` may name.

    Entries: ``host``, ``host:port``, ``*.domain`` (https only), or a full
    ``scheme://host[:port]`` origin (the only way to allow plain http).
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self._origins: set[str] = set()
        self._hosts: set[str] = set()
        self._suffixes: list[str] = []
        for entry in entries:
            entry = entry.strip().lower().rstrip("/")
            if "://" in entry:
                self._origins.add(entry)
            elif entry.startswith("*."):
                self._suffixes.append(entry[1:])
            elif entry:
                self._hosts.add(entry)

    def allows(self, scheme: str, host: str, port: int | None) -> bool:
        default = 443 if scheme == "https" else 80
        netloc = host if port in (None, default) else f"{host}:{port}"
        if f"{scheme}://{netloc}" in self._origins:
            return True
        if scheme != "https":
            return False
        return netloc in self._hosts or any(host.endswith(s) for s in self._suffixes)


class Router:
    def __init__(self, registry: ProviderRegistry, allowlist: Allowlist) -> None:
        self.registry = registry
        self.allowlist = allowlist
        self._public_origins = registry.public_origins()

    def route(self, path: str, helicone: dict[str, str]) -> Target:
        target_url = helicone.get("helicone-target-url")
        if target_url is not None:
            return self.generic(target_url, path.removeprefix("/gateway"))
        azure_base = helicone.get("helicone-openai-api-base")
        if azure_base is not None and path.startswith("/openai/deployments/"):
            return self._azure_from_header(azure_base, path)
        if path.startswith("/v1/"):
            return self._provider("openai", path)
        name, _, rest = path[1:].partition("/")
        if name == "gateway":
            fallbacks = helicone.get("helicone-fallbacks")
            if fallbacks is None:
                raise InvalidHeader("Helicone-Target-Url", "required on /gateway routes")
            url = _first_fallback_url(fallbacks)
            return self.generic(url, path.removeprefix("/gateway"), header="Helicone-Fallbacks")
        provider = self.registry.get(name)
        if provider is None:
            raise NotFound(
                f"Unknown provider {name!r} in path {path!r}. Known providers: "
                + ", ".join(self.registry.names())
                + "; or send Helicone-Target-Url to an allowlisted host.",
                code="unknown_provider",
            )
        if provider.templated_host:
            resource, _, rest = rest.partition("/")
            if not _AZURE_RESOURCE.match(resource):
                raise NotFound(
                    f"Azure routes look like /{name}/<resource>/openai/deployments/...; "
                    f"{resource!r} is not a valid resource name",
                    code="unknown_provider",
                )
            base = provider.base_url.replace("{resource}", resource)
            return Target(provider, f"{base}/{rest}", provider.format, provider.name)
        return Target(provider, f"{provider.base_url}/{rest}", provider.format, provider.name)

    def _provider(self, name: str, path: str) -> Target:
        provider = self.registry.get(name)
        assert provider is not None
        return Target(provider, provider.base_url + path, provider.format, provider.name)

    def _azure_from_header(self, base: str, path: str) -> Target:
        provider = self.registry.get("azure")
        assert provider is not None
        if "{resource}" not in provider.base_url:  # overridden by the operator
            return Target(provider, provider.base_url + path, provider.format, provider.name)
        match = _AZURE_BASE.match(base.strip().lower())
        if not match:
            raise InvalidHeader(
                "Helicone-OpenAI-Api-Base", "must be https://<resource>.openai.azure.com"
            )
        url = provider.base_url.replace("{resource}", match.group(1)) + path
        return Target(provider, url, provider.format, provider.name)

    def generic(self, target_url: str, path: str, header: str = "Helicone-Target-Url") -> Target:
        """An allowlisted URL target; errors name ``header``."""
        try:
            parts = urlsplit(target_url.strip())
            port = parts.port
        except ValueError:
            raise InvalidHeader(header, "not a valid URL") from None
        scheme, host = parts.scheme.lower(), (parts.hostname or "")
        if scheme not in ("http", "https") or not host:
            raise InvalidHeader(header, "must be an http(s) URL with a host")
        if parts.username is not None or parts.password is not None:
            raise InvalidHeader(header, "must not contain credentials")
        if parts.query or parts.fragment:
            raise InvalidHeader(header, "must not contain a query or fragment")
        if not (
            self.allowlist.allows(scheme, host, port)
            or (
                scheme == "https"
                and port in (None, 443)
                and f"https://{host}" in self._public_origins
            )
        ):
            raise InvalidHeader(
                header,
                f"host {host!r} is not in the gateway's target allowlist "
                "(RELAYSCOPE_TARGET_ALLOWLIST)",
                code="target_not_allowed",
            )
        base = target_url.strip().rstrip("/")
        fmt = "anthropic" if path.endswith("/messages") else "openai"
        provider = next(
            (p for p in self.registry if base.startswith(p.base_url) and not p.templated_host), None
        )
        name = provider.name if provider else host
        return Target(provider, base + path, provider.format if provider else fmt, name)


def _first_fallback_url(value: str) -> str:
    """The first ``target-url`` of ``Helicone-Fallbacks`` (the retry stage checks the rest)."""
    try:
        entries = orjson.loads(value)
    except orjson.JSONDecodeError:
        entries = None
    first = entries[0] if isinstance(entries, list) and entries else None
    url = first.get("target-url") if isinstance(first, dict) else None
    if not isinstance(url, str):
        raise InvalidHeader(
            "Helicone-Fallbacks", "must be a JSON list of objects, each with a target-url"
        )
    return url
