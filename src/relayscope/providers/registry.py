"""The providers the gateway can reach, as data.

A request to ``/<name>/<rest>`` goes to ``<base_url>/<rest>``. The base URL can be
overridden per provider with ``RELAYSCOPE_<NAME>_BASE_URL`` (scheme://host[:port]
plus optional path), which is how tests point a provider at the fake server and
how a self-hosted Ollama or vLLM is found. An override may be written with or without
the version path the provider's routes start with (``http://host:11434/v1`` as the
README's providers table and the provider's own docs show it, or ``http://host:11434``):
the routes add it, so it is taken off the override rather than sent twice.

A URL belongs to a provider only at the provider's exact origin (scheme, host and
port) and below its base path at a segment boundary: ``https://api.openai.com.evil.example``
and ``https://api.groq.com/openaiX`` are nobody's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from yarl import URL

from relayscope.proxy.urls import Origin, UnsafeUrl, origin_of, parse_base

Format = Literal["openai", "anthropic"]


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    """Registry name, also the first path segment of its route."""
    base_url: str
    """Upstream origin plus any fixed path prefix, without a trailing slash."""
    format: Format = "openai"
    """Wire format of its chat API, for usage and stream parsing."""
    pricing_id: str | None = None
    """Provider id in the genai-prices dataset (None: priced by model name alone)."""
    stream_usage_option: bool = True
    """Accepts OpenAI's ``stream_options.include_usage`` on streaming requests."""
    templated_host: bool = False
    """Routes start with a resource segment that fills ``{resource}`` in the base URL (Azure)."""
    version_paths: tuple[str, ...] = ("/v1",)
    """Paths the provider's routes begin with (longest first); an override ending in one
    has it removed, since the client's path brings it."""

    def describe_route(self) -> str:
        """Where the provider's route goes, e.g. ``/ollama/v1/... -> http://h:11434/v1/...``."""
        if self.templated_host:
            return f"/{self.name}/<resource>/... -> {self.base_url}/..."
        version = self.version_paths[0] if self.version_paths else ""
        return f"/{self.name}{version}/... -> {self.base_url}{version}/..."

    @property
    def fixed_base(self) -> tuple[Origin, str] | None:
        """Origin and base path, unless the host is filled in per request (``{resource}``)."""
        if "{resource}" in self.base_url:
            return None
        return parse_base(self.base_url)

    def path_below(self, url: str) -> str | None:
        """The part of ``url`` below the base URL ("" or "/..."), when ``url`` is this
        provider's: same origin, and the base path followed by a segment boundary."""
        base = self.fixed_base
        if base is None:
            return None
        parsed = URL(url, encoded=True)
        origin, base_path = base
        path = parsed.raw_path
        if origin_of(parsed) != origin or not _below(path, base_path):
            return None
        return path[len(base_path) :]


PROVIDERS: tuple[Provider, ...] = (
    Provider("openai", "https://api.openai.com", pricing_id="openai"),
    Provider("anthropic", "https://api.anthropic.com", "anthropic", pricing_id="anthropic"),
    Provider(
        "azure",
        "https://{resource}.openai.azure.com",
        pricing_id="azure",
        templated_host=True,
        version_paths=(),
    ),
    Provider("together", "https://api.together.xyz", pricing_id="together"),
    Provider("groq", "https://api.groq.com/openai", pricing_id="groq"),
    Provider("mistral", "https://api.mistral.ai", pricing_id="mistral", stream_usage_option=False),
    Provider(
        "gemini",
        "https://generativelanguage.googleapis.com",
        pricing_id="google",
        stream_usage_option=False,
        version_paths=("/v1beta/openai", "/v1beta", "/v1"),
    ),
    Provider("openrouter", "https://openrouter.ai/api", pricing_id="openrouter"),
    Provider("deepseek", "https://api.deepseek.com", pricing_id="deepseek"),
    Provider("fireworks", "https://api.fireworks.ai/inference", pricing_id="fireworks"),
    Provider("xai", "https://api.x.ai", pricing_id="x-ai"),
    Provider("ollama", "http://127.0.0.1:11434", pricing_id=None),
    Provider("vllm", "http://127.0.0.1:8000", pricing_id=None),
)


class ProviderRegistry:
    """Looks providers up by name, with the operator's base-URL overrides applied."""

    def __init__(
        self,
        providers: Iterable[Provider] = PROVIDERS,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        overrides = overrides or {}
        self._by_name: dict[str, Provider] = {}
        self._bases: dict[str, tuple[Origin, str]] = {}
        for provider in providers:
            base = overrides.get(provider.name)
            try:
                if base:
                    provider = replace(provider, base_url=_override(provider, base))
                fixed = provider.fixed_base
            except UnsafeUrl as exc:
                raise ValueError(
                    f"RELAYSCOPE_{provider.name.upper()}_BASE_URL {base!r}: {exc}"
                ) from None
            self._by_name[provider.name] = provider
            if fixed is not None:
                self._bases[provider.name] = fixed

    def get(self, name: str) -> Provider | None:
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._by_name.values())

    def names(self) -> list[str]:
        return list(self._by_name)

    def base(self, provider: Provider) -> tuple[Origin, str] | None:
        """``provider.fixed_base``, parsed once."""
        return self._bases.get(provider.name)

    def at(self, origin: Origin, path: str) -> Provider | None:
        """The provider a URL with this origin and path belongs to (the longest base path
        wins; then registry order), or None."""
        found: Provider | None = None
        longest = -1
        for name, (base_origin, base_path) in self._bases.items():
            if base_origin == origin and _below(path, base_path) and len(base_path) > longest:
                found, longest = self._by_name[name], len(base_path)
        return found

    def operator_origins(self) -> set[Origin]:
        """Origins the operator chose (overrides) or that are local by default (Ollama,
        vLLM): reached without the private-network guard. The shipped public providers'
        origins are not among them: a public name that resolves inside is refused."""
        public = public_origins()
        return {origin for origin, _path in self._bases.values()} - public

    def public_origins(self) -> set[str]:
        """https://host of every public provider: targets that need no allowlist entry."""
        return {str(origin) for origin in public_origins()}


def public_origins() -> set[Origin]:
    """Origins of the built-in public providers, as shipped.

    Local servers (Ollama, vLLM) and overridden bases are left out on purpose:
    naming a loopback or private address must always be the operator's choice.
    """
    bases = (p.fixed_base for p in PROVIDERS)
    return {base[0] for base in bases if base is not None and base[0].scheme == "https"}


def _override(provider: Provider, base: str) -> str:
    """The base URL an override names: checked like any base, then without a trailing
    version path the provider's routes add (``/v1``), rebuilt from its parsed parts."""
    base = base.strip()
    if "{resource}" in base:
        return base.rstrip("/")
    origin, path = parse_base(base)
    for version in provider.version_paths:
        if path.endswith(version):  # versions start with "/": a whole-segment match
            path = path.removesuffix(version)
            break
    return f"{origin}{path}"


def _below(path: str, base_path: str) -> bool:
    return path == base_path or path.startswith(base_path + "/")
