from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from relayscope.errors import BadRequest, InvalidHeader, NotFound
from relayscope.providers.registry import PROVIDERS, ProviderRegistry
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


HOST_MOVING_PATHS = [
    "@127.0.0.1:9/v1/chat/completions",
    ".evil.example/v1/chat/completions",
    ":1@127.0.0.1/v1/chat/completions",
    "\\@127.0.0.1/v1/chat/completions",
]


@pytest.mark.parametrize("rest", HOST_MOVING_PATHS)
@pytest.mark.parametrize("target", ["https://api.example.net", "https://api.openai.com"])
def test_the_path_never_changes_the_upstream_host(rest, target):
    try:
        routed = router(("api.example.net",)).route(
            f"/gateway{rest}", {"helicone-target-url": target}
        )
    except BadRequest as exc:
        assert exc.status == 400 and exc.code == "invalid_path"
        return
    assert routed.url == f"{target}/gateway{rest}"


BAD_PATHS = [
    "//evil.example/v1",
    "/v1/../../admin",
    "/v1/./chat",
    "/v1//chat",
    "/v1/chat#frag",
    "/v1/chat?x=1",
    "/v1/ chat",
    "/v1/chat\t",
    "/v1/chat\r\nHost: evil",
    "/v1/chat\x00",
    "/v1\\chat",
    "/v1/%2e%2e/admin",
    "/v1/chat%40evil",
    "/v1/caf\u00e9",
]
ROUTES = {
    "target-url": ("/gateway{p}", {"helicone-target-url": "https://api.example.net"}),
    "target-url with a base path": ("{p}", {"helicone-target-url": "https://api.groq.com/openai"}),
    "gateway fallbacks": (
        "/gateway{p}",
        {"helicone-fallbacks": '[{"target-url": "https://api.example.net"}]'},
    ),
    "provider": ("/groq{p}", {}),
    "openai /v1": ("/v1{p}", {}),
    "azure resource": ("/azure/acme{p}", {}),
    "azure api base": (
        "/openai/deployments/d{p}",
        {"helicone-openai-api-base": "https://acme.openai.azure.com"},
    ),
}


@pytest.mark.parametrize("route", ROUTES)
def test_an_at_sign_inside_a_segment_stays_on_the_chosen_host(route):
    # Vertex model names carry one: /models/claude-3-5-sonnet@20240620:streamRawPredict.
    template, headers = ROUTES[route]
    path = "/v1/models/claude@20240620:rawPredict"
    target = router(("api.example.net",)).route(template.format(p=path), headers)
    parsed = urlsplit(target.url)
    assert parsed.username is None and parsed.path.endswith(path)
    assert parsed.hostname in (
        "api.example.net",
        "api.groq.com",
        "api.openai.com",
        "acme.openai.azure.com",
    )


@pytest.mark.parametrize("path", BAD_PATHS)
@pytest.mark.parametrize("route", ROUTES)
def test_paths_that_could_be_read_as_another_url_are_400(route, path):
    template, headers = ROUTES[route]
    with pytest.raises(BadRequest) as refused:
        router(("api.example.net",)).route(template.format(p=path), headers)
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "target",
    [
        "https://api.anthropic.com.example.net",
        "https://api.deepseek.com.evil.example",
        "https://evilapi.openai.com",
        "https://api.groq.com",
        "https://api.groq.com/openaiX",
        "https://api.openai.com:8443",
        "http://api.openai.com",
    ],
)
def test_providers_are_matched_by_exact_origin_and_base_path(target):
    r = router(
        (
            "*.example.net",
            "*.evil.example",
            "*.openai.com",
            "api.groq.com",
            "api.openai.com:8443",
            "http://api.openai.com",
        )
    )
    routed = r.route("/v1/messages", {"helicone-target-url": target})
    assert routed.provider is None
    assert routed.provider_name not in {p.name for p in PROVIDERS}


def test_a_provider_origin_with_its_base_path_is_that_provider():
    routed = router().route("/v1/models", {"helicone-target-url": "https://api.groq.com/openai"})
    assert routed.provider is not None and routed.provider.name == "groq"
    assert routed.url == "https://api.groq.com/openai/v1/models"


@pytest.mark.parametrize(
    "target",
    [
        "http://2130706433:9000",
        "http://0x7f000001:9000",
        "http://0177.0.0.1:9000",
        "http://127.1:9000",
        "http://[::1%25lo]:9000",
        "https://api.example.net\\@127.0.0.1",
        "https://api.example.net@127.0.0.1",
        "https://api.example.net:0",
        " https://api.example.net/a b",
    ],
)
def test_odd_hosts_in_a_target_url_are_refused(target):
    allow = ("api.example.net", "http://127.0.0.1:9000", "http://[::1]:9000")
    with pytest.raises(InvalidHeader, match="Helicone-Target-Url"):
        router(allow).route("/v1/chat/completions", {"helicone-target-url": target})


def test_ipv6_origins_can_be_allowlisted_and_wildcards_admit_no_literal_or_port():
    r = router(("http://[::1]:9000", "*.example.org"))
    routed = r.route("/v1/x", {"helicone-target-url": "http://[::1]:9000"})
    assert routed.url == "http://[::1]:9000/v1/x"
    for target in ("https://a.example.org:8443", "https://[::1]", "http://a.example.org"):
        with pytest.raises(InvalidHeader):
            r.route("/v1/x", {"helicone-target-url": target})


def test_only_operator_configured_origins_skip_the_private_network_guard():
    r = router(("http://127.0.0.1:9000",), overrides={"openai": "http://localhost:9001"})
    assert r.route("/openai/v1/models", {}).operator_origin
    assert r.route("/ollama/v1/models", {}).operator_origin
    assert not r.route("/anthropic/v1/messages", {}).operator_origin
    assert not r.route("/azure/acme/openai/x", {}).operator_origin
    targeted = {"helicone-target-url": "http://127.0.0.1:9000"}
    assert not r.route("/v1/models", targeted).operator_origin
    public = {"helicone-target-url": "https://api.openai.com"}
    assert not r.route("/v1/models", public).operator_origin


@pytest.mark.parametrize(
    "base",
    ["http://user:pw@127.0.0.1:9000", "http://127.0.0.1:9000/v1?x=1", "http://0x7f.1:9000"],
)
def test_unsafe_base_url_overrides_fail_at_start(base):
    with pytest.raises(ValueError, match="RELAYSCOPE_OPENAI_BASE_URL"):
        ProviderRegistry(overrides={"openai": base})
