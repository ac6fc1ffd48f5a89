from __future__ import annotations

import pytest

from relayscope.errors import InvalidHeader, NotFound
from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.routing import Allowlist, Router


def router(allow=(), overrides=None) -> Router:
    return Router(ProviderRegistry(overrides=overrides), Allowlist(allow))


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/v1/chat/completions", "https://api.openai.com/v1/chat/completions"),
        ("/openai/v1/embeddings", "https://api.openai.com/v1/embeddings"),
        ("/anthropic/v1/messages", "https://api.anthropic.com/v1/messages"),
        ("/groq/v1/chat/completions", "https://api.groq.com/openai/v1/chat/completions"),
        ("/together/v1/chat/completions", "https://api.together.xyz/v1/chat/completions"),
        ("/mistral/v1/chat/completions", "https://api.mistral.ai/v1/chat/completions"),
        (
            "/gemini/v1beta/openai/chat/completions",
            "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        ),
        ("/openrouter/v1/chat/completions", "https://openrouter.ai/api/v1/chat/completions"),
        ("/deepseek/v1/chat/completions", "https://api.deepseek.com/v1/chat/completions"),
        (
            "/fireworks/v1/chat/completions",
            "https://api.fireworks.ai/inference/v1/chat/completions",
        ),
        ("/xai/v1/chat/completions", "https://api.x.ai/v1/chat/completions"),
        ("/ollama/v1/chat/completions", "http://127.0.0.1:11434/v1/chat/completions"),
        ("/vllm/v1/chat/completions", "http://127.0.0.1:8000/v1/chat/completions"),
        (
            "/azure/myres/openai/deployments/gpt4/chat/completions",
            "https://myres.openai.azure.com/openai/deployments/gpt4/chat/completions",
        ),
    ],
)
def test_registry_routes(path, url):
    assert router().route(path, {}).url == url


def test_anthropic_format_is_known():
    assert router().route("/anthropic/v1/messages", {}).format == "anthropic"


def test_override_replaces_the_base():
    target = router(overrides={"groq": "http://127.0.0.1:9000/"}).route(
        "/groq/v1/chat/completions", {}
    )
    assert target.url == "http://127.0.0.1:9000/v1/chat/completions"


def test_azure_resource_must_be_a_name():
    with pytest.raises(NotFound):
        router().route("/azure/evil.com%2f/openai/x", {})


def test_azure_helicone_api_base_header():
    headers = {"helicone-openai-api-base": "https://acme.openai.azure.com"}
    target = router().route("/openai/deployments/d/chat/completions", headers)
    assert target.url == "https://acme.openai.azure.com/openai/deployments/d/chat/completions"
    with pytest.raises(InvalidHeader, match="Helicone-OpenAI-Api-Base"):
        router().route(
            "/openai/deployments/d/chat/completions",
            {"helicone-openai-api-base": "https://169.254.169.254"},
        )


@pytest.mark.parametrize(
    ("allow", "target", "ok"),
    [
        ((), "https://api.groq.com/openai", True),
        ((), "https://api.groq.com:8443", False),
        ((), "http://api.groq.com", False),
        (("llm.internal.example",), "https://llm.internal.example/v1", True),
        (("llm.internal.example",), "http://llm.internal.example", False),
        (("*.example.org",), "https://a.b.example.org", True),
        (("*.example.org",), "https://example.org.evil.com", False),
        (("http://127.0.0.1:9000",), "http://127.0.0.1:9000", True),
        (("http://127.0.0.1:9000",), "http://127.0.0.1:9001", False),
        (("http://127.0.0.1:9000",), "http://localhost:9000", False),
        ((), "http://127.0.0.1:11434", False),
        ((), "http://[::1]:80", False),
    ],
)
def test_target_allowlist(allow, target, ok):
    r = router(allow)
    if ok:
        assert r.route("/v1/chat/completions", {"helicone-target-url": target}).url.startswith(
            target.rstrip("/")
        )
    else:
        with pytest.raises(InvalidHeader, match="Helicone-Target-Url"):
            r.route("/v1/chat/completions", {"helicone-target-url": target})


def test_gateway_prefix_is_stripped_and_requires_a_target():
    r = router(("api.example.net",))
    target = r.route("/gateway/v1/messages", {"helicone-target-url": "https://api.example.net"})
    assert target.url == "https://api.example.net/v1/messages"
    assert target.format == "anthropic"
    with pytest.raises(InvalidHeader):
        r.route("/gateway/v1/messages", {})
