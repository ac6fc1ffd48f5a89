"""From the fallback entries and the routed request to the list of routes to try.

Everything that can be checked without calling anyone is checked here, before the
first attempt, so a bad header is a 400 and never a half-done request. What needs
a look-up or real work (operator keys, request translation) happens in ``prepare``,
only when a route is reached.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import orjson
from yarl import URL

from relayscope.auth.policy import KeyPolicy
from relayscope.context import Context, Target
from relayscope.errors import InvalidHeader
from relayscope.providers.registry import Format, Provider
from relayscope.providers.translate import (
    TranslationError,
    anthropic_to_openai_request,
    openai_to_anthropic_request,
)
from relayscope.providers.translate.requests import ANTHROPIC_VERSION
from relayscope.providers.translate.responses_api import responses_to_chat_request
from relayscope.proxy.routing import Router
from relayscope.proxy.urls import Origin, origin_of
from relayscope.retry.fallbacks import DEFAULT_ON_CODES, GATEWAY, SEED, Codes, Entry
from relayscope.retry.provider_keys import ProviderKeys

ClientFormat = Format | Literal["responses"]
"""What the client speaks: a chat format, or OpenAI's Responses API."""

CHAT_PATHS = {"gemini": "/v1beta/openai/chat/completions"}
"""Chat endpoint paths that differ from the format's usual one."""
CREDENTIAL_HEADERS = frozenset({b"authorization", b"x-api-key", b"api-key", b"x-goog-api-key"})
_PROVIDER_SPECIFIC = (b"anthropic-", b"openai-")


@dataclass(frozen=True, slots=True)
class Route:
    """One upstream to try: the primary (index 0) or a fallback entry."""

    index: int
    target: Target
    query: bytes = b""
    model: str | None = None
    body_override: Mapping[str, Any] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    api_key: str | None = field(default=None, repr=False)
    same_scope: bool = True
    """Same provider as the routed request: the client's own credentials may go along."""
    client_format: ClientFormat | None = None
    """Set when the target speaks another format than the client: translate both ways."""
    on_codes: Codes = DEFAULT_ON_CODES


@dataclass(frozen=True, slots=True)
class Base:
    """The request as it reached the stage; every route starts from it."""

    target: Target
    headers: list[tuple[bytes, bytes]]
    body: bytes
    json: Any
    query: bytes


@dataclass(frozen=True, slots=True)
class Prepared:
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Unusable(Exception):
    """This route cannot be tried (no credentials, untranslatable request); try the next."""


class Untranslatable(Unusable):
    """The request uses something this route's wire format cannot express."""


class OutOfScope(Unusable):
    """The gateway key's scopes do not allow this route's provider, model or token limit."""


class NoCredentials(Unusable):
    """No credential for this route's provider: none in the entry, none stored for the org."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


def plan_routes(ctx: Context, entries: list[Entry], router: Router) -> list[Route]:
    """The routes in order; the first is what the request was routed to."""
    if not entries:
        return [Route(0, ctx.target, ctx.query)]
    if entries[0].header == GATEWAY:
        rest = _rest_path(ctx)
        if rest is None:
            raise InvalidHeader(GATEWAY, "cannot be used on this route: call /gateway/<path>")
        routes = [_gateway_route(i, entry, ctx, router, rest) for i, entry in enumerate(entries)]
        if _pure_gateway(ctx):
            return routes
        return [Route(0, ctx.target, ctx.query), *(replace(r, index=r.index + 1) for r in routes)]
    seed = [_seed_route(i + 1, entry, ctx, router) for i, entry in enumerate(entries)]
    return [Route(0, ctx.target, ctx.query), *seed]


def _pure_gateway(ctx: Context) -> bool:
    """Helicone's gateway form: /gateway/... without a target, the entries are the whole plan."""
    return ctx.path.startswith("/gateway/") and "helicone-target-url" not in ctx.helicone


def _rest_path(ctx: Context) -> str | None:
    """The upstream path below the provider's base URL, as the router resolved it."""
    if ctx.path.startswith("/gateway/"):
        return ctx.path.removeprefix("/gateway")
    provider = ctx.target.provider
    return None if provider is None else provider.path_below(ctx.target.url)


def _gateway_route(index: int, entry: Entry, ctx: Context, router: Router, rest: str) -> Route:
    assert entry.target_url is not None
    target = router.generic(entry.target_url, rest, header=GATEWAY)
    if entry.body_override and not isinstance(ctx.json, dict):
        raise InvalidHeader(GATEWAY, "bodyKeyOverride needs a JSON object request body")
    return Route(
        index,
        # The body goes as the client sent it, so the answer is in the client's format.
        replace(target, format=ctx.target.format),
        ctx.query,
        body_override=entry.body_override,
        headers=entry.headers,
        same_scope=_same_origin(target, ctx.target),
        on_codes=entry.on_codes,
    )


def _seed_route(index: int, entry: Entry, ctx: Context, router: Router) -> Route:
    primary = ctx.target
    if not isinstance(ctx.json, dict):
        raise InvalidHeader(SEED, "needs a JSON object request body")
    if entry.provider is None or entry.provider == primary.provider_name:
        return Route(
            index,
            primary,
            ctx.query,
            model=entry.model,
            headers=entry.headers,
            api_key=entry.api_key,
            on_codes=entry.on_codes,
        )
    registry = router.registry
    provider = registry.get(entry.provider)
    if provider is None:
        known = ", ".join(registry.names())
        raise InvalidHeader(SEED, f"unknown provider {entry.provider!r} (known: {known})")
    if "{resource}" in provider.base_url:
        raise InvalidHeader(
            SEED, f"provider {provider.name!r} needs a resource: use Helicone-Fallbacks"
        )
    if entry.model is None:
        raise InvalidHeader(SEED, f"the entry for provider {provider.name!r} needs a model")
    chat = _chat_format(primary)
    if provider.format != primary.format and chat is None:
        raise InvalidHeader(
            SEED,
            f"provider {provider.name!r} speaks another format; only chat completions, "
            "Responses API and messages requests can be translated",
        )
    client_format: ClientFormat | None = None
    if chat == "responses":
        client_format = "responses"
    elif provider.format != primary.format:
        client_format = primary.format
    if chat is not None:
        path = CHAT_PATHS.get(
            provider.name,
            "/v1/messages" if provider.format == "anthropic" else "/v1/chat/completions",
        )
    else:
        rest = _rest_path(ctx)
        if rest is None:
            raise InvalidHeader(SEED, "a different provider cannot serve this route")
        path = rest
    return Route(
        index,
        router.at_provider(provider, path),
        model=entry.model,
        headers=entry.headers,
        api_key=entry.api_key,
        same_scope=False,
        client_format=client_format,
        on_codes=entry.on_codes,
    )


def _same_origin(target: Target, primary: Target) -> bool:
    """The client's own credentials may follow the request only to where it was going."""
    same_provider = target.provider_name == primary.provider_name
    return same_provider and _origin(target.url) == _origin(primary.url)


def _origin(url: str) -> Origin | None:
    return origin_of(URL(url, encoded=True))


def _chat_format(target: Target) -> ClientFormat | None:
    if target.format == "openai" and target.url.endswith("/chat/completions"):
        return "openai"
    if target.format == "openai" and target.url.endswith("/responses"):
        return "responses"
    if target.format == "anthropic" and target.url.endswith("/messages"):
        return "anthropic"
    return None


async def prepare(
    route: Route,
    base: Base,
    *,
    org_id: str,
    keys: ProviderKeys | None,
    anthropic_max_tokens: int,
    policy: KeyPolicy | None = None,
) -> Prepared:
    """Headers and body for ``route``; ``Unusable`` when it cannot be tried.

    ``policy`` is the virtual key's: a route outside its scopes is not tried, and its
    stored credential for the route's provider goes to that provider's own origin.
    """
    body = _body(route, base, anthropic_max_tokens)
    if policy is not None:
        _check_scope(route, body, base, policy)
    return Prepared(await _headers(route, base, org_id, keys, policy), body)


def _check_scope(route: Route, body: bytes, base: Base, policy: KeyPolicy) -> None:
    model = route.model
    data: Any = base.json
    if body is not base.body:
        data = orjson.loads(body)
    if model is None and isinstance(data, dict) and isinstance(data.get("model"), str):
        model = data["model"]
    refusal = (
        policy.provider_refusal(route.target.provider_name)
        or policy.model_refusal(model)
        or policy.tokens_refusal(data)
    )
    if refusal is not None:
        raise OutOfScope(refusal.message)


def refuse_untranslatable(
    routes: list[Route], entries: list[Entry], base: Base, anthropic_max_tokens: int
) -> None:
    """Strict headers: a 400 naming the field, before any attempt, when a fallback
    entry that needs translation cannot express the request."""
    header = entries[0].header if entries else SEED
    for route in routes:
        if route.client_format is None:
            continue
        try:
            _body(route, base, anthropic_max_tokens)
        except Untranslatable as exc:
            raise InvalidHeader(header, f"entry {route.index}: {exc}") from exc


def _body(route: Route, base: Base, anthropic_max_tokens: int) -> bytes:
    if route.client_format is None and route.model is None and not route.body_override:
        return base.body
    data = dict(base.json)
    provider = route.target.provider
    try:
        if route.client_format == "responses":
            assert route.model is not None
            usage = provider is None or provider.stream_usage_option
            data = responses_to_chat_request(data, model=route.model, stream_usage=usage)
            if route.target.format == "anthropic":
                data = openai_to_anthropic_request(
                    data, model=route.model, default_max_tokens=anthropic_max_tokens
                )
        elif route.client_format == "openai":
            assert route.model is not None
            data = openai_to_anthropic_request(
                data, model=route.model, default_max_tokens=anthropic_max_tokens
            )
        elif route.client_format == "anthropic":
            assert route.model is not None
            usage = provider is None or provider.stream_usage_option
            data = anthropic_to_openai_request(data, model=route.model, stream_usage=usage)
    except TranslationError as exc:
        raise Untranslatable(
            f"cannot translate the request for {route.target.provider_name}: {exc}"
        ) from exc
    if route.model is not None:
        data["model"] = route.model
    if route.body_override:
        data.update(route.body_override)
    if not route.same_scope and provider is not None and not provider.stream_usage_option:
        data.pop("stream_options", None)
    return orjson.dumps(data)


async def _headers(
    route: Route, base: Base, org_id: str, keys: ProviderKeys | None, policy: KeyPolicy | None
) -> list[tuple[bytes, bytes]]:
    headers = list(base.headers)
    if not route.same_scope:
        headers = [
            (name, value)
            for name, value in headers
            if name not in CREDENTIAL_HEADERS and not name.startswith(_PROVIDER_SPECIFIC)
        ]
    if route.headers:
        names = {name.encode() for name, _ in route.headers}
        headers = [h for h in headers if h[0] not in names]
        headers.extend((name.encode(), value.encode()) for name, value in route.headers)
    target = route.target
    stored = key_credential(policy, target)
    if stored is not None:
        # The virtual key's credential wins over the client's and the entry's.
        headers = [h for h in headers if h[0] not in CREDENTIAL_HEADERS]
        headers.append(credential_header(target, stored))
    elif route.api_key is not None:
        headers = [h for h in headers if h[0] not in CREDENTIAL_HEADERS]
        headers.append(credential_header(target, route.api_key))
    elif not route.same_scope and not any(name in CREDENTIAL_HEADERS for name, _ in headers):
        key = None
        # A stored key goes only to the origin (and below the base path) it was stored for.
        if keys is not None and target.provider is not None and at_home(target):
            key = await keys.get(org_id, target.provider.name)
        if key is None:
            raise NoCredentials(
                target.provider_name,
                f"no credentials for {target.provider_name}: give the entry an api_key or "
                "headers, or configure a provider key for the org",
            )
        headers = [*headers, credential_header(target, key)]
    if (
        not route.same_scope
        and target.format == "anthropic"
        and not any(name == b"anthropic-version" for name, _ in headers)
    ):
        headers = [*headers, (b"anthropic-version", ANTHROPIC_VERSION.encode())]
    return headers


def key_credential(policy: KeyPolicy | None, target: Target) -> str | None:
    """The virtual key's credential for ``target``, only at its provider's own origin."""
    if policy is None or not policy.credentials or target.provider is None:
        return None
    key = policy.credentials.get(target.provider.name)
    return key if key is not None and at_home(target) else None


def at_home(target: Target) -> bool:
    """``target`` is at its provider's exact origin, below its base path: the only
    place a stored credential for that provider may be sent."""
    provider = target.provider
    return provider is not None and _below_base(provider, target.url)


@functools.lru_cache(maxsize=4096)
def _below_base(provider: Provider, url: str) -> bool:
    # Cached: a virtual key's every request asks, and a few URLs make up most traffic.
    return provider.path_below(url) is not None


def credential_header(target: Target, key: str) -> tuple[bytes, bytes]:
    if target.format == "anthropic":
        return b"x-api-key", key.encode()
    if target.provider_name == "azure":
        return b"api-key", key.encode()
    return b"authorization", b"Bearer " + key.encode()
