"""``RELAYSCOPE_<PROVIDER>_BASE_URL`` as users write it: with or without the version path."""

from __future__ import annotations

import pytest

from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.routing import Allowlist, Router


def upstream(overrides: dict[str, str], path: str) -> str:
    return Router(ProviderRegistry(overrides=overrides), Allowlist(())).route(path, {}).url


@pytest.mark.parametrize(
    ("name", "override", "path", "expected"),
    [
        (
            "ollama",
            "http://gpu-box:11434/v1",
            "/ollama/v1/models",
            "http://gpu-box:11434/v1/models",
        ),
        (
            "ollama",
            "http://gpu-box:11434/v1/",
            "/ollama/v1/models",
            "http://gpu-box:11434/v1/models",
        ),
        ("ollama", "http://gpu-box:11434", "/ollama/v1/models", "http://gpu-box:11434/v1/models"),
        (
            "groq",
            "https://g.example/openai/v1",
            "/groq/v1/models",
            "https://g.example/openai/v1/models",
        ),
        (
            "groq",
            "https://g.example/openai",
            "/groq/v1/models",
            "https://g.example/openai/v1/models",
        ),
        (
            "anthropic",
            "https://a.example/v1",
            "/anthropic/v1/messages",
            "https://a.example/v1/messages",
        ),
        (
            "gemini",
            "https://g.example/v1beta/openai",
            "/gemini/v1beta/openai/chat/completions",
            "https://g.example/v1beta/openai/chat/completions",
        ),
        # Only a whole trailing version segment is taken off.
        ("vllm", "http://h:8000/apiv1", "/vllm/v1/models", "http://h:8000/apiv1/v1/models"),
    ],
)
def test_override_with_or_without_the_version_path(name, override, path, expected):
    assert upstream({name: override}, path) == expected


@pytest.mark.parametrize(
    "override",
    ["http://user@h/v1", "http://h/v1?x=1", "ftp://h/v1", "http://h/../v1", "http://h//v1"],
)
def test_overrides_keep_their_safety_checks(override):
    with pytest.raises(ValueError, match="RELAYSCOPE_OLLAMA_BASE_URL"):
        ProviderRegistry(overrides={"ollama": override})


def test_helicone_target_url_at_an_override_still_names_the_provider():
    registry = ProviderRegistry(overrides={"ollama": "http://gpu-box:11434/v1"})
    router = Router(registry, Allowlist(("http://gpu-box:11434",)))
    target = router.route("/v1/chat/completions", {"helicone-target-url": "http://gpu-box:11434"})
    assert target.provider is not None and target.provider.name == "ollama"
    assert target.url == "http://gpu-box:11434/v1/chat/completions"
