"""The retry stage in-process: ``ctx.retry`` holds every attempt, typed, and the route
that served; the log record keeps them in its documented shape."""

from __future__ import annotations

from relayscope.context import Context, ProxyResponse
from relayscope.providers.registry import ProviderRegistry
from relayscope.proxy.routing import Allowlist, Router
from relayscope.retry.outcome import Attempt, RetryOutcome
from relayscope.retry.stage import RetryStage
from relayscope.testing.contexts import chat_context

RETRY_FAST = {
    "helicone-retry-enabled": "true",
    "helicone-retry-num": "2",
    "helicone-retry-min-timeout": "0",
    "helicone-retry-max-timeout": "0",
}


def stage() -> RetryStage:
    router = Router(ProviderRegistry(), Allowlist(()))
    return RetryStage(router=router, provider_keys=None, anthropic_max_tokens=1024)


class Flaky:
    """Answers 503 ``failures`` times, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    async def __call__(self, ctx: Context) -> ProxyResponse:
        if self.failures:
            self.failures -= 1
            return ProxyResponse(503, [], body=b'{"error": {"message": "busy"}}')
        return ProxyResponse(200, [], body=b"{}")


async def test_every_attempt_is_on_the_context_with_the_route_that_served():
    ctx = chat_context(RETRY_FAST)
    response = await stage()(ctx, Flaky(failures=1))
    assert response.status == 200
    assert ctx.retry is not None and ctx.retry.fallback_index == 0
    assert [(a.number, a.status, a.error) for a in ctx.retry.attempts] == [
        (1, 503, "busy"),
        (2, 200, None),
    ]
    assert all(a.sent and a.provider == "openai" for a in ctx.retry.attempts)
    assert all(a.model == "gpt-4o-mini" for a in ctx.retry.attempts)
    assert (b"helicone-retry-attempts", b"1") in ctx.response_headers


async def test_a_request_without_retry_headers_has_no_retry_outcome():
    ctx = chat_context()
    assert (await stage()(ctx, Flaky(failures=0))).status == 200
    assert ctx.retry is None


def test_the_log_keeps_each_attempt_in_its_documented_shape():
    outcome = RetryOutcome()
    outcome.add(
        fallback_index=1,
        provider="anthropic",
        model=None,
        status=None,
        latency_ms=None,
        error="not tried: no credential",
    )
    assert outcome.attempts == [
        Attempt(1, 1, "anthropic", None, None, None, "not tried: no credential")
    ]
    assert outcome.sent == 0
    assert outcome.logged() == [
        {
            "attempt": 1,
            "fallback_index": 1,
            "provider": "anthropic",
            "model": None,
            "status": None,
            "latency_ms": None,
            "error": "not tried: no credential",
        }
    ]
