"""The rate-limit stage: refuses with 429 before the cache or the provider is reached.

A request is checked against its ``Helicone-RateLimit-Policy`` header and every
standing policy of its org (and key); it is admitted only if it fits them all.
``u=cents`` counters are charged after the response, from its priced usage.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relayscope.context import Context, ProxyResponse
from relayscope.errors import RateLimited, ServiceUnavailable
from relayscope.logs.price import priced, request_price
from relayscope.proxy.tags import PROPERTY_PREFIX, property_name
from relayscope.ratelimit.book import PoliciesUnknown, PolicyBook
from relayscope.ratelimit.limiter import (
    BackendUnavailable,
    Check,
    Limiter,
    MemoryLimiter,
    Outcome,
)
from relayscope.ratelimit.outcome import RateLimitOutcome
from relayscope.ratelimit.policy import USER, Policy, PolicyError, parse_policy
from relayscope.ratelimit.redis_limiter import RedisLimiter
from relayscope.ratelimit.repository import PolicyRepository, StandingPolicy
from relayscope.types import CallNext, Stage

if TYPE_CHECKING:
    from relayscope.config import Settings
    from relayscope.pipeline import Services

log = logging.getLogger("relayscope.ratelimit")

HEADER = "Helicone-RateLimit-Policy"
_HEADER_KEY = HEADER.lower()
_SEP = "\x1f"
"""Joins counter-id parts; header values cannot hold control characters (proxy.tags)."""


@dataclass(slots=True)
class RateLimitCounters:
    """Running totals for monitoring (``/metrics``)."""

    admitted: int = 0
    refused: int = 0
    backend_errors: int = 0
    """Decisions or charges the counter backend (Redis) could not make."""
    failed_open: int = 0
    """Requests served unlimited because the backend was unreachable."""
    failed_closed: int = 0
    """Requests refused with 503 because the backend was unreachable (``fail_closed``)."""


@dataclass(frozen=True, slots=True)
class Bound:
    """A policy applied to one request: the policy and the counter it uses."""

    policy: Policy
    check: Check


class RateLimitStage(Stage):
    def __init__(self, *, limiter: Limiter, book: PolicyBook, fail_closed: bool = False) -> None:
        self._limiter = limiter
        self._book = book
        self._fail_closed = fail_closed
        self.counters = RateLimitCounters()

    @property
    def limiter(self) -> Limiter:
        return self._limiter

    def applies(self, ctx: Context) -> bool:
        return _HEADER_KEY in ctx.helicone or self._book.may_have(ctx.org_id)

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        header = ctx.helicone.get(_HEADER_KEY)
        standing = await self._standing(ctx)
        if header is None and not standing:
            return await call_next(ctx)
        bound = bind(ctx, header, standing)
        if not bound:
            return await call_next(ctx)
        outcomes = await self._decide(ctx.org_id, bound)
        if outcomes is None:
            return await call_next(ctx)
        policy, outcome = binding(bound, outcomes)
        decided = ctx.ratelimit = decision(policy, outcome)
        ctx.response_headers.extend(decided.headers())
        if decided.limited:
            self.counters.refused += 1
            raise RateLimited(
                f"Rate limit exceeded: policy {policy} allows {policy.describe()}. "
                f"Retry in {decided.reset_s} s.",
                headers={"Retry-After": str(decided.reset_s)},
            )
        self.counters.admitted += 1
        response = await call_next(ctx)
        charged = [b.check for b in bound if not b.policy.per_request]
        if not charged:
            return response
        status = response.status
        if response.stream is None:
            await self._charge(ctx, charged, status)
        else:
            ctx.on_stream_end(lambda: self._charge(ctx, charged, status))
        return response

    async def _standing(self, ctx: Context) -> Sequence[StandingPolicy]:
        try:
            return await self._book.policies(ctx.org_id, ctx.key_id)
        except PoliciesUnknown as exc:
            self.counters.backend_errors += 1
            if self._fail_closed:
                self.counters.failed_closed += 1
                raise ServiceUnavailable(
                    "Rate limiting is unavailable (the standing rate-limit policies cannot "
                    "be read from the store) and the gateway is set to refuse requests until "
                    "they can be (RELAYSCOPE_RATELIMIT_FAIL_CLOSED).",
                    code="rate_limit_unavailable",
                ) from exc
            self.counters.failed_open += 1
            return ()

    async def _decide(self, org_id: str, bound: Sequence[Bound]) -> list[Outcome] | None:
        try:
            return await self._limiter.decide(org_id, [b.check for b in bound])
        except BackendUnavailable as exc:
            self.counters.backend_errors += 1
            if self._fail_closed:
                self.counters.failed_closed += 1
                # The details (host, error) are in the gateway's log, not for clients.
                raise ServiceUnavailable(
                    "Rate limiting is unavailable (its Redis cannot be reached) and the gateway "
                    "is set to refuse requests under a rate-limit policy until it is back "
                    "(RELAYSCOPE_RATELIMIT_FAIL_CLOSED).",
                    code="rate_limit_unavailable",
                ) from exc
            self.counters.failed_open += 1
            return None

    async def _charge(self, ctx: Context, checks: list[Check], status: int) -> None:
        cents = await price_cents(ctx, status)
        if not cents:
            return
        try:
            await self._limiter.spend(ctx.org_id, checks, cents)
        except BackendUnavailable:
            self.counters.backend_errors += 1


def bind(ctx: Context, header: str | None, standing: Sequence[StandingPolicy]) -> list[Bound]:
    """The counters the request must fit in.

    A policy header Helicone would skip (malformed, or segmented by a header the
    request lacks) is skipped with a warning, or refused (400) with strict headers.
    """
    bound = []
    if header is not None:
        own = _header_policy(ctx, header)
        if own is not None:
            bound.append(own)
    for item in standing:
        # Without its segment header, a request shares one counter with the others
        # that lack it: leaving the header out must not escape the operator's policy.
        counter = _SEP.join(("p", item.id, segment_value(ctx, item.policy) or ""))
        bound.append(Bound(item.policy, _check(item.policy, counter)))
    return bound


def _header_policy(ctx: Context, header: str) -> Bound | None:
    skipped = "proxied without this policy"
    try:
        policy = parse_policy(header.strip())
    except PolicyError as exc:
        ctx.tolerate(HEADER, str(exc), skipped)
        return None
    value = segment_value(ctx, policy)
    if policy.segment is not None and not value:
        ctx.tolerate(
            HEADER,
            f"s={policy.segment} counts per {policy.segment_header()} value, "
            f"but the request has no {policy.segment_header()} header",
            skipped,
        )
        return None
    counter = _SEP.join(("h", policy.unit, policy.segment or "", value or ""))
    return Bound(policy, _check(policy, counter))


def _check(policy: Policy, counter: str) -> Check:
    return Check(counter, policy.quota, policy.window, 1.0 if policy.per_request else 0.0)


def segment_value(ctx: Context, policy: Policy) -> str | None:
    if policy.segment is None:
        return None
    if policy.segment == USER:
        return ctx.tags.user_id
    return ctx.helicone.get(PROPERTY_PREFIX + property_name(policy.segment))


def binding(bound: Sequence[Bound], outcomes: Sequence[Outcome]) -> tuple[Policy, Outcome]:
    """The policy to report: the refusal that lasts longest, else the one with the
    least left relative to its quota."""
    pairs = [(b.policy, o) for b, o in zip(bound, outcomes, strict=True)]
    refused = [pair for pair in pairs if not pair[1].allowed]
    if refused:
        return max(refused, key=lambda pair: pair[1].reset)
    return min(pairs, key=lambda pair: (pair[0].quota - pair[1].used) / pair[0].quota)


def decision(policy: Policy, outcome: Outcome) -> RateLimitOutcome:
    """What the request is told of ``policy``'s decision (``Helicone-RateLimit-*``)."""
    reset = math.ceil(outcome.reset)
    if not outcome.allowed:
        reset = max(1, reset)
    return RateLimitOutcome(
        limited=not outcome.allowed,
        policy=str(policy),
        limit=policy.quota,
        remaining=max(0.0, policy.quota - outcome.used),
        reset_s=reset,
    )


async def price_cents(ctx: Context, status: int) -> float:
    """What the request cost, in cents, priced as its log record is (0 if unknown)."""
    if status >= 400 or (ctx.cache is not None and ctx.cache.hit) or not priced(ctx):
        return 0.0  # a cache hit is logged at cost 0, and spends nothing either
    usd = await request_price(ctx, status)
    if usd is None:
        log.debug("request %s has no known price; it costs nothing against u=cents", ctx.request_id)
        return 0.0
    return usd * 100


def build(settings: Settings, services: Services) -> RateLimitStage | None:
    """The stage as configured: counters in Redis or in memory, policies from the store."""
    options = settings.ratelimit
    if not options.enabled:
        return None
    backend = options.backend.strip().lower()
    if backend == "auto":
        backend = "redis" if services.redis is not None else "memory"
    limiter: Limiter
    if backend == "redis":
        if services.redis is None:
            raise SystemExit("RELAYSCOPE_RATELIMIT_BACKEND=redis needs RELAYSCOPE_REDIS_URL")
        limiter = RedisLimiter(
            services.redis,
            settings.redis_prefix,
            timeout=options.redis_timeout,
            retry_interval=options.redis_retry_interval,
        )
    elif backend == "memory":
        limiter = MemoryLimiter()
    else:
        raise SystemExit(
            f"Invalid RELAYSCOPE_RATELIMIT_BACKEND {options.backend!r}: use auto, memory or redis"
        )
    repository = PolicyRepository(services.store.database)
    book = PolicyBook(repository.all, ttl=options.policy_ttl)
    return RateLimitStage(limiter=limiter, book=book, fail_closed=options.fail_closed)
