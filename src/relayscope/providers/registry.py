"""The providers the gateway can reach, as data.

A request to ``/<name>/<rest>`` goes to ``<base_url>/<rest>``. The base URL can be
overridden per provider with ``RELAYSCOPE_<NAME>_BASE_URL`` (scheme://host[:port]
plus optional path), which is how tests point a provider at the fake server and
how a self-hosted Ollama or vLLM is found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

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


PROVIDERS: tuple[Provider, ...] = (
    Provider("openai", "https://api.openai.com", pricing_id="openai"),
    Provider("anthropic", "https://api.anthropic.com", "anthropic", pricing_id="anthropic"),
    Provider(
        "azure",
        "https://{resource}.openai.azure.com",
        pricing_id="azure",
        templated_host=True,
    ),
    Provider("together", "https://api.together.xyz", pricing_id="together"),
    Provider("groq", "https://api.groq.com/openai", pricing_id="groq"),
    Provider("mistral", "https://api.mistral.ai", pricing_id="mistral", stream_usage_option=False),
    Provider(
        "gemini",
        "https://generativelanguage.googleapis.com",
        pricing_id="google",
        stream_usage_option=False,
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
        for provider in providers:
            base = overrides.get(provider.name)
            if base:
                provider = replace(provider, base_url=base.rstrip("/"))
            self._by_name[provider.name] = provider

    def get(self, name: str) -> Provider | None:
        return self._by_name.get(name)

    def __iter__(self):
        return iter(self._by_name.values())

    def names(self) -> list[str]:
        return list(self._by_name)

    def public_origins(self) -> set[str]:
        """https://host of every public provider: targets that need no allowlist entry.

        Local servers (Ollama, vLLM) and overridden bases are left out on purpose:
        naming a loopback or private address must always be the operator's choice.
        """
        return {
            "https://" + p.base_url.removeprefix("https://").split("/", 1)[0]
            for p in PROVIDERS
            if p.base_url.startswith("https://") and not p.templated_host
        }
