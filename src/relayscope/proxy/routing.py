"""From the path a client called (and maybe ``Helicone-Target-Url``) to an upstream URL.

Upstreams come only from the provider registry or from the operator's allowlist:
no header can make the gateway reach a host the operator did not allow. Every URL
is built by ``relayscope.proxy.urls.join`` from the chosen origin and a checked path,
so the path a client calls can never change the host, port or scheme.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

from relayscope.context import Target
from relayscope.errors import BadRequest, InvalidHeader, NotFound
from relayscope.providers.registry import Provider, ProviderRegistry, public_origins
from relayscope.proxy.urls import Origin, UnsafeUrl, join, parse_base

_AZURE_RESOURCE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_AZURE_BASE = re.compile(r"^https://([a-z0-9][a-z0-9-]{0,62})\.openai\.azure\.com/?$")


class Allowlist:
    """Origins a ``Helicone-Target-Url`` may name.

    Entries: ``host``, ``host:port``, ``*.domain`` (https only), or a full
    ``scheme://host[:port]`` origin (the only way to allow plain http).
    """

    def __init__(self, entries: Iterable[str]) -> None:
        self._origins: set[Origin] = set()
        self._suffixes: list[str] = []
        for entry in entries:
            entry = entry.strip().lower().rstrip("/")
            if entry.startswith("*."):
                self._suffixes.append(entry[1:])
            elif entry:
                url = entry if "://" in entry else f"https://{entry}"
                try:
                    origin, path = parse_base(url)
                except UnsafeUrl as exc:
                    raise ValueError(
                        f"RELAYSCOPE_TARGET_ALLOWLIST entry {entry!r}: {exc}"
                    ) from None
                if path:
                    raise ValueError(
                        f"RELAYSCOPE_TARGET_ALLOWLIST entry {entry!r}: give an origin, no path"
                    )
                self._origins.add(origin)

    def allows(self, origin: Origin) -> bool:
        if origin in self._origins:
            return True
        if origin.scheme != "https" or origin.port != 443 or origin.ip is not None:
            return False
        return any(origin.host.endswith(suffix) for suffix in self._suffixes)


class Router:
    def __init__(self, registry: ProviderRegistry, allowlist: Allowlist) -> None:
        self.registry = registry
        self.allowlist = allowlist
        self._public_origins = public_origins()
        self._operator_origins = registry.operator_origins()
        self._operator_providers = {
            p.name for p in registry if (b := registry.base(p)) and b[0] in self._operator_origins
        }

    def route(self, path: str, helicone: dict[str, str]) -> Target:
        target_url = helicone.get("helicone-target-url")
        if target_url is not None:
            return self.generic(target_url, _below_gateway(path))
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
            return self.generic(url, _below_gateway(path), header="Helicone-Fallbacks")
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
            return self.at_provider(provider, f"/{rest}", resource=resource)
        return self.at_provider(provider, f"/{rest}")

    def at_provider(self, provider: Provider, path: str, resource: str | None = None) -> Target:
        """``path`` below ``provider``'s base URL (Azure: on ``resource``'s host)."""
        base = self.registry.base(provider)
        if base is None:
            assert resource is not None and _AZURE_RESOURCE.match(resource)
            base = parse_base(provider.base_url.replace("{resource}", resource))
        url = _joined(*base, path)
        operator_origin = provider.name in self._operator_providers
        return Target(provider, url, provider.format, provider.name, operator_origin)

    def _provider(self, name: str, path: str) -> Target:
        provider = self.registry.get(name)
        assert provider is not None
        return self.at_provider(provider, path)

    def _azure_from_header(self, base: str, path: str) -> Target:
        provider = self.registry.get("azure")
        assert provider is not None
        if "{resource}" not in provider.base_url:  # overridden by the operator
            return self.at_provider(provider, path)
        match = _AZURE_BASE.match(base.strip().lower())
        if not match:
            raise InvalidHeader(
                "Helicone-OpenAI-Api-Base", "must be https://<resource>.openai.azure.com"
            )
        return self.at_provider(provider, path, resource=match.group(1))

    def generic(self, target_url: str, path: str, header: str = "Helicone-Target-Url") -> Target:
        """An allowlisted URL target; errors name ``header``."""
        try:
            origin, base_path = parse_base(target_url.strip())
        except UnsafeUrl as exc:
            raise InvalidHeader(header, str(exc)) from None
        if not (self.allowlist.allows(origin) or origin in self._public_origins):
            raise InvalidHeader(
                header,
                f"host {origin.host!r} is not in the gateway's target allowlist "
                "(RELAYSCOPE_TARGET_ALLOWLIST)",
                code="target_not_allowed",
            )
        url = _joined(origin, base_path, path)
        provider = self.registry.at(origin, base_path)
        if provider is not None:
            fmt, name = provider.format, provider.name
        else:
            fmt = "anthropic" if path.endswith("/messages") else "openai"
            name = origin.host
        return Target(provider, url, fmt, name, operator_origin=origin in self._operator_origins)


def _below_gateway(path: str) -> str:
    """The path after ``/gateway`` when the client called it, else the whole path."""
    if path == "/gateway" or path.startswith("/gateway/"):
        return path.removeprefix("/gateway")
    return path


def _joined(origin: Origin, base_path: str, path: str) -> str:
    try:
        return join(origin, base_path, path)
    except UnsafeUrl as exc:
        raise BadRequest(
            f"Invalid request path {path!r}: {exc}", code="invalid_path", param="path"
        ) from None


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
