"""Provider registry and the wire formats the gateway understands."""

from relayscope.providers.registry import PROVIDERS, Provider, ProviderRegistry

__all__ = ["PROVIDERS", "Provider", "ProviderRegistry"]
