"""The budget stage: checks every budget a request falls under before it goes
upstream, and charges what it spent when it ends.

A request falls under its org's budgets, its key's team's, its user's
(``Helicone-User-Id``) and its key's. It is refused (429 ``budget_exceeded``) when any
of them is spent for the current period; otherwise it goes on, and when it ends (a
whole response sent, a stream's last chunk, an error) its cost and tokens are added
to every one of those counters at once.

The bound: a check reads the counters, a charge comes when the request ends, so
requests already in flight when a budget is crossed are still served and charged.
A budget can be exceeded by at most the cost of the requests in flight when it was
crossed; no request that starts after that is admitted.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from relayscope.alerts.notify import Notifier
from relayscope.alerts.repository import AlertRepository
from relayscope.budgets.book import BudgetBook, Snapshot, snapshot
from relayscope.budgets.counters import Counter, Counters, CountersUnavailable, MemoryCounters
from relayscope.budgets.model import Budget, Spend, dollars
from relayscope.budgets.redis_counters import RedisCounters
from relayscope.budgets.repository import BudgetRepository
from relayscope.budgets.soft_limits import SoftLimits
from relayscope.budgets.spend import Clock, request_spend, utc_now
from relayscope.context import Context, ProxyResponse
from relayscope.errors import BudgetExceeded, ServiceUnavailable
from relayscope.types import CallNext, Stage

if TYPE_CHECKING:
    from relayscope.config import Settings
    from relayscope.pipeline import Services

log = logging.getLogger("relayscope.budgets")


@dataclass(slots=True)
class BudgetStats:
    """Running totals for monitoring."""

    admitted: int = 0
    refused: int = 0
    backend_errors: int = 0


def counter_of(budget: Budget, now: datetime) -> Counter:
    period = budget.window(now)
    return Counter(budget.org_id, budget.id, period.start, period.end)


def spent(budget: Budget, spend: Spend) -> bool:
    """Whether ``spend`` leaves nothing of ``budget`` (either of its limits)."""
    over_usd = budget.usd_limit is not None and spend.usd >= budget.usd_limit
    over_tokens = budget.token_limit is not None and spend.tokens >= budget.token_limit
    return over_usd or over_tokens


class BudgetStage(Stage):
    def __init__(
        self,
        *,
        book: BudgetBook,
        counters: Counters,
        repository: BudgetRepository,
        soft_limits: SoftLimits | None = None,
        clock: Clock = utc_now,
        reconcile_interval: float = 60.0,
        fail_closed: bool = False,
    ) -> None:
        self._book = book
        self.counters = counters
        self._repository = repository
        self.soft_limits = soft_limits
        self._clock = clock
        self._reconcile_interval = reconcile_interval
        self._fail_closed = fail_closed
        self._reconciling: asyncio.Task[None] | None = None
        self._known: set[str] = set()
        """Budgets whose counters were reconciled since this process first saw them."""
        self._adopting: dict[str, asyncio.Task[None]] = {}
        self.stats = BudgetStats()

    @property
    def book(self) -> BudgetBook:
        return self._book

    def applies(self, ctx: Context) -> bool:
        return self._book.may_have(ctx.org_id)

    async def __call__(self, ctx: Context, call_next: CallNext) -> ProxyResponse:
        found = await self._book.current()
        budgets = self._book.applying(found, ctx.org_id, ctx.key_id, ctx.tags.user_id)
        if not budgets:
            return await call_next(ctx)
        fresh = [b for b in budgets if b.id not in self._known]
        if fresh:
            await self._adopt(found, fresh)
        now = self._clock()
        counters = [counter_of(b, now) for b in budgets]
        try:
            spends = await self.counters.read(counters)
        except CountersUnavailable as exc:
            self.stats.backend_errors += 1
            if self._fail_closed:
                raise ServiceUnavailable(
                    "Budgets cannot be checked (their Redis cannot be reached) and the gateway "
                    "is set to refuse requests under a budget until it is back "
                    "(RELAYSCOPE_BUDGETS_FAIL_CLOSED).",
                    code="budget_unavailable",
                ) from exc
        else:
            over = [
                (b, c, s) for b, c, s in zip(budgets, counters, spends, strict=True) if spent(b, s)
            ]
            if over:
                self.stats.refused += 1
                raise refusal(over, now)
        self.stats.admitted += 1
        ctx.on_stream_end(lambda: self._charge(ctx, budgets, counters))
        return await call_next(ctx)

    async def _charge(
        self, ctx: Context, budgets: Sequence[Budget], counters: Sequence[Counter]
    ) -> None:
        spend = await request_spend(ctx)
        if not spend.usd and not spend.tokens:
            return
        try:
            totals = await self.counters.charge(counters, spend)
        except CountersUnavailable:
            self.stats.backend_errors += 1
            return  # the next reconcile takes the charge from the log store
        if self.soft_limits is not None:
            for budget, counter, total in zip(budgets, counters, totals, strict=True):
                self.soft_limits.check(budget, counter, total)

    async def start(self) -> None:
        self._reconciling = asyncio.create_task(self._reconcile_forever(), name="budget-reconcile")

    async def aclose(self) -> None:
        if self._reconciling is not None:
            self._reconciling.cancel()
            await asyncio.gather(self._reconciling, return_exceptions=True)
        if self.soft_limits is not None:
            await self.soft_limits.aclose()

    async def reconcile(self) -> None:
        """Raise every current period's counter to what the log store holds for it, so
        a lost counter (a restart of a one-process gateway, a Redis flush) converges to
        the store's truth. A counter above it stays: its requests may not be stored yet."""
        found = await self._book.refresh()
        now = self._clock()
        for budgets in found.by_org.values():
            for budget in budgets:
                await self._reconcile_one(found, budget, now)
                self._known.add(budget.id)
        if isinstance(self.counters, MemoryCounters):
            self.counters.forget_before(now)

    async def _adopt(self, found: Snapshot, fresh: Sequence[Budget]) -> None:
        """Reconcile budgets new to this process before their first check: one made
        mid-period starts from what its owner already spent, not from zero."""
        waiting = []
        for budget in fresh:
            task = self._adopting.get(budget.id)
            if task is None:
                task = asyncio.create_task(self._reconcile_one(found, budget, self._clock()))
                self._adopting[budget.id] = task
                task.add_done_callback(functools.partial(self._adopted, budget.id))
            waiting.append(task)
        for outcome in await asyncio.gather(*waiting, return_exceptions=True):
            if isinstance(outcome, Exception):
                log.warning("cannot reconcile a new budget with the log store: %s", outcome)

    def _adopted(self, budget_id: str, _task: asyncio.Task[None]) -> None:
        self._known.add(budget_id)
        self._adopting.pop(budget_id, None)

    async def _reconcile_one(self, found: Snapshot, budget: Budget, now: datetime) -> None:
        counter = counter_of(budget, now)
        keys = found.team_keys.get(budget.target or "", ()) if budget.level == "team" else ()
        logged = await self._repository.logged_spend(budget, budget.window(now), keys)
        await self.counters.raise_to(counter, logged)

    async def _reconcile_forever(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception as exc:
                log.warning("cannot reconcile budget counters with the log store: %s", exc)
            await asyncio.sleep(self._reconcile_interval)


def refusal(over: Sequence[tuple[Budget, Counter, Spend]], now: datetime) -> BudgetExceeded:
    """The 429 for the spent budget that lasts longest (the request is refused until
    then whatever the others do)."""
    budget, counter, spend = max(over, key=lambda item: item[1].end)
    wait = max(1, math.ceil((counter.end - now).total_seconds()))
    limits = []
    if budget.usd_limit is not None and spend.usd >= budget.usd_limit:
        limits.append(f"{dollars(spend.usd)} of its {dollars(budget.usd_limit)}")
    if budget.token_limit is not None and spend.tokens >= budget.token_limit:
        limits.append(f"{spend.tokens:,} of its {budget.token_limit:,} tokens")
    reset = counter.end.isoformat().replace("+00:00", "Z")
    return BudgetExceeded(
        f"Budget exceeded at the {budget.level} level: {budget.describe()} has spent "
        f"{' and '.join(limits)} for the {budget.reset} {budget.period} (budget "
        f"{budget.id}). It resets at {reset}. The request was not sent to the provider.",
        headers={
            "Retry-After": str(wait),
            "Relayscope-Budget-Level": budget.level,
            "Relayscope-Budget-Reset": reset,
            # Retrying before the reset can only be refused again.
            "x-should-retry": "false",
        },
    )


def build(settings: Settings, services: Services) -> BudgetStage | None:
    """The stage as configured: counters in Redis or in memory, budgets from the store."""
    options = settings.budgets
    if not options.enabled:
        return None
    backend = options.backend.strip().lower()
    if backend == "auto":
        backend = "redis" if services.redis is not None else "memory"
    counters: Counters
    if backend == "redis":
        if services.redis is None:
            raise SystemExit("RELAYSCOPE_BUDGETS_BACKEND=redis needs RELAYSCOPE_REDIS_URL")
        counters = RedisCounters(
            services.redis, settings.redis_prefix, timeout=options.redis_timeout
        )
    elif backend == "memory":
        counters = MemoryCounters()
    else:
        raise SystemExit(
            f"Invalid RELAYSCOPE_BUDGETS_BACKEND {options.backend!r}: use auto, memory or redis"
        )
    database = services.store.database
    repository = BudgetRepository(database)

    async def load() -> Snapshot:
        return snapshot(await repository.list_budgets(), await repository.key_teams())

    soft_limits = SoftLimits(
        repository, AlertRepository(database), Notifier(settings.alerts), utc_now
    )
    return BudgetStage(
        book=BudgetBook(load, ttl=options.book_ttl),
        counters=counters,
        repository=repository,
        soft_limits=soft_limits,
        reconcile_interval=options.reconcile_interval,
        fail_closed=options.fail_closed,
    )
