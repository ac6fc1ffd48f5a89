"""The cache stage in-process, with a stub upstream: laziness of the semantic model."""

from __future__ import annotations

import orjson

from relayscope.cache.embedding import Embedder
from relayscope.cache.memory import MemoryBackend
from relayscope.cache.outcome import CacheOutcome
from relayscope.cache.settings import CacheSettings
from relayscope.cache.stage import CacheStage
from relayscope.cache.stats import CacheStats
from relayscope.context import Context, ProxyResponse, Target
from relayscope.testing.contexts import chat_context


def ctx(content: str, **helicone: str) -> Context:
    return chat_context(
        {"helicone-cache-enabled": "true", **helicone},
        {"model": "m", "messages": [{"role": "user", "content": content}]},
        request_id=f"req-{content}",
        target=Target(None, "https://api.openai.com/v1/chat/completions", "openai", "openai"),
    )


class Upstream:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, context: Context) -> ProxyResponse:
        self.calls += 1
        body = orjson.dumps({"answer": self.calls})
        context.upstream_body.replace(body)
        return ProxyResponse(200, [(b"content-type", b"application/json")], body=body)


def stage() -> CacheStage:
    stats = CacheStats()
    backend = MemoryBackend(max_bytes=1 << 20, stats=stats)
    return CacheStage(CacheSettings(), backend, stats=stats, embedder=Embedder())


async def test_exact_requests_never_load_the_embedding_model():
    cache, upstream = stage(), Upstream()
    await cache(ctx("hello"), upstream)
    hit = ctx("hello")
    response = await cache(hit, upstream)
    assert upstream.calls == 1 and response.body == b'{"answer":1}'
    assert hit.cache == CacheOutcome(hit=True, source_id="req-hello", similarity=None)
    assert cache.embedder is not None and not cache.embedder.loaded


async def test_the_first_semantic_request_loads_it():
    cache, upstream = stage(), Upstream()
    semantic = {"helicone-cache-semantic": "true", "helicone-cache-similarity": "0.8"}
    await cache(ctx("What is the capital of France?", **semantic), upstream)
    assert cache.embedder is not None and cache.embedder.loaded
    hit = ctx("Tell me the capital city of France.", **semantic)
    await cache(hit, upstream)
    assert upstream.calls == 1 and hit.cache is not None and hit.cache.hit
    assert hit.cache.similarity is not None and hit.cache.similarity >= 0.8
    assert cache.stats.org(hit.org_id).semantic_hits == 1


async def test_a_model_that_cannot_load_is_reported_on_the_response_and_the_record(
    monkeypatch, caplog
):
    monkeypatch.setattr("relayscope.cache.embedding.model_files", lambda: None)
    cache, upstream = stage(), Upstream()
    semantic = {"helicone-cache-semantic": "true"}
    for text in ("What is the capital of France?", "Which city is the capital of France?"):
        request = ctx(text, **semantic)
        await cache(request, upstream)
        assert (b"helicone-cache-semantic", b"unavailable") in request.response_headers
        assert any("unavailable" in warning for warning in request.warnings)
        assert request.cache == CacheOutcome(hit=False)
    assert upstream.calls == 2
    assert cache.embedder is not None and cache.embedder.failed
    assert "semantic cache model failed to load" in caplog.text


async def test_requests_without_semantic_never_get_the_header():
    cache, upstream = stage(), Upstream()
    request = ctx("plain")
    await cache(request, upstream)
    assert all(name != b"helicone-cache-semantic" for name, _ in request.response_headers)


async def test_a_long_last_user_turn_is_matched_exactly_only():
    cache, upstream = stage(), Upstream()
    semantic = {"helicone-cache-semantic": "true", "helicone-cache-similarity": "0"}
    story = "Once upon a time a fox lived by the river and watched the boats. " * 20
    await cache(ctx(story + "What happens next?", **semantic), upstream)
    later = ctx(story + "What happened next?", **semantic)
    await cache(later, upstream)
    assert later.cache == CacheOutcome(hit=False) and upstream.calls == 2
    assert cache.embedder is not None and not cache.embedder.loaded
    assert all(name != b"helicone-cache-semantic" for name, _ in later.response_headers)
