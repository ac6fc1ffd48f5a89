"""The retry and fallback stage: routes outside, retries inside, both around ``call_next``.

It is the innermost stage, so every attempt is one real upstream call, and what
it returns (first success or last failure) is all the outer stages ever see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from relayscope.config import Settings
from relayscope.context import Context, ProxyResponse
from relayscope.errors import GatewayError, UpstreamError
from relayscope.providers.registry import Format, ProviderRegistry
from relayscope.providers.translate import translate_body, translate_stream
from relayscope.providers.translate.responses_api import chat_stream_to_responses, chat_to_response
from relayscope.proxy.routing import Allowlist, Router
from relayscope.retry.attempts import Outcome, record_skip, with_retries
from relayscope.retry.fallbacks import GATEWAY, SEED, parse_fallback_headers
from relayscope.retry.outcome import RetryOutcome
from relayscope.retry.plan import (
    Base,
    NoCredentials,
    OutOfScope,
    Prepared,
    Route,
    Untranslatable,
    Unusable,
    plan_routes,
    prepare,
    refuse_untranslatable,
)
from relayscope.retry.policy import NO_RETRIES, parse_retry_headers
from relayscope.retry.provider_keys import ProviderKeys
from relayscope.types import CallNext, Stage

if TYPE_CHECKING:
    from relayscope.pipeline import Services

_HEADERS = ("helicone-retry-enabled", SEED.lower(), GATEWAY.lower())


class RetryStage(Stage):
    def __init__(
        self, *, router: Router, provider_keys: ProviderKeys | None, anthropic_max_tokens: int
    ) -> None:
        self._router = router
        self._keys = provider_keys
        self._anthropic_max_tokens = anthropic_max_tokens

    def applies(self, ctx: Context) -> bool:
        return any(name in ctx.helicone for name in _HEADERS)

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        policy = parse_retry_headers(ctx.helicone)
        entries = parse_fallback_headers(ctx.helicone)
        if policy is None and not entries:
            return await call_next(ctx)
        routes = plan_routes(ctx, entries, self._router)
        base = Base(ctx.target, ctx.headers, ctx.body, ctx.json, ctx.query)
        if ctx.strict_headers:
            refuse_untranslatable(routes, entries, base, self._anthropic_max_tokens)
        tried = ctx.retry = RetryOutcome()
        served: tuple[Route, Outcome] | None = None
        uncredentialed: list[tuple[Route, str]] = []
        untranslatable: list[str] = []
        try:
            for route in routes:
                try:
                    prepared = await prepare(
                        route,
                        base,
                        org_id=ctx.org_id,
                        keys=self._keys,
                        anthropic_max_tokens=self._anthropic_max_tokens,
                        policy=ctx.key,
                    )
                except Unusable as exc:
                    record_skip(ctx, route.index, route.target.provider_name, str(exc))
                    if isinstance(exc, NoCredentials):
                        uncredentialed.append((route, exc.provider))
                    elif isinstance(exc, Untranslatable | OutOfScope):
                        untranslatable.append(f"entry {route.index} was not tried: {exc}")
                    continue
                if served is not None:
                    await served[1].discard()
                _apply(ctx, route, prepared)
                served = (
                    route,
                    await with_retries(ctx, call_next, policy or NO_RETRIES, route.index),
                )
                if not served[1].falls_back(route.on_codes):
                    break
        except BaseException:
            if served is not None:
                await served[1].discard()
            raise
        retried = max(0, tried.sent - 1)
        ctx.response_headers.append((b"helicone-retry-attempts", str(retried).encode()))
        notes = _skipped_notes(uncredentialed) + untranslatable
        if served is None:
            last = tried.attempts[-1].error
            error = UpstreamError(f"No fallback route could be tried: {last}")
            _warn(ctx, notes, error)
            raise error
        route, outcome = served
        tried.fallback_index = route.index
        if entries:
            ctx.response_headers.append((b"helicone-fallback-index", str(route.index).encode()))
        if outcome.error is not None:
            _warn(ctx, notes, outcome.error)
            raise outcome.error
        assert outcome.response is not None
        if outcome.response.status >= 400:
            _warn(ctx, notes, outcome.response)
        assert outcome.response is not None
        if route.client_format is not None:
            _translate(outcome.response, route, base.json)
        return outcome.response


def _skipped_notes(uncredentialed: list[tuple[Route, str]]) -> list[str]:
    """Why fallback entries never ran for lack of a credential, one per entry."""
    return [
        f"entry {route.index} was not tried: no credential was available for {provider} "
        "(give the entry an api_key or headers, or store a provider key for the org)"
        for route, provider in uncredentialed
    ]


def _warn(ctx: Context, notes: list[str], failure: GatewayError | ProxyResponse) -> None:
    """Say ``notes`` on a failed answer: ``Helicone-Warning`` headers naming the fallback
    header, and the same at the end of the error message.

    An upstream's error body gets them only when it has the usual JSON error shape
    (``{"error": {"message": ...}}``, OpenAI and Anthropic alike); other bodies are
    passed on unchanged, the headers still say it.
    """
    if not notes:
        return
    header = SEED if SEED.lower() in ctx.helicone else GATEWAY
    for note in notes:
        ctx.warn(header, note)
    said = f"{header}: " + "; ".join(notes)
    if isinstance(failure, GatewayError):
        failure.message = f"{failure.message} ({said})"
    elif failure.stream is None:
        failure.body = _with_note(failure.body, said)


def _to_responses(response: ProxyResponse, served: Format) -> None:
    """A chat completions (or, through it, Anthropic) answer as the Responses API's."""
    if response.stream is None:
        body = translate_body(response.body, response.status, served=served, client="openai")
        if response.status < 400:
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                data = None
            if isinstance(data, dict):
                body = orjson.dumps(chat_to_response(data))
        response.body = body
        return
    stream = response.stream
    if served != "openai":
        stream = translate_stream(stream, served=served, client="openai", include_usage=True)
    response.stream = chat_stream_to_responses(stream)


def _with_note(body: bytes, note: str) -> bytes:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return body
    error["message"] = f"{error['message']} ({note})"
    return orjson.dumps(doc)


def _apply(ctx: Context, route: Route, prepared: Prepared) -> None:
    ctx.target = route.target
    ctx.headers = prepared.headers
    ctx.query = route.query
    if prepared.body is not ctx.body:
        ctx.set_body(prepared.body)


def _translate(response: ProxyResponse, route: Route, client_json: Any) -> None:
    assert route.client_format is not None
    served, client = route.target.format, route.client_format
    if client == "responses":
        _to_responses(response, served)
        return
    if response.stream is None:
        response.body = translate_body(response.body, response.status, served=served, client=client)
        return
    options = client_json.get("stream_options") if isinstance(client_json, dict) else None
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    response.stream = translate_stream(
        response.stream, served=served, client=client, include_usage=include_usage
    )


def build(settings: Settings, services: Services) -> RetryStage | None:
    if not settings.retry.enabled:
        return None
    registry = ProviderRegistry(overrides=settings.provider_base_urls)
    return RetryStage(
        router=Router(registry, Allowlist(settings.target_allowlist)),
        provider_keys=services.provider_keys,
        anthropic_max_tokens=settings.retry.anthropic_max_tokens,
    )
