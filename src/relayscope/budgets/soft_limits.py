"""Soft limits: an alert through the org's alert channels when a budget's period
reaches 50, 80 and 100 % of its limit, once per threshold per period.

Once is kept across replicas by the store: the first process to record a threshold
(``BudgetRepository.claim_alert``) sends it; the others find it recorded.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from relayscope.alerts.notify import Notification, Notifier
from relayscope.alerts.repository import AlertRepository
from relayscope.budgets.counters import Counter
from relayscope.budgets.model import Budget, Spend, dollars
from relayscope.budgets.repository import BudgetRepository
from relayscope.budgets.spend import Clock

log = logging.getLogger("relayscope.budgets")

THRESHOLDS = (50, 80, 100)
"""Percentages of a budget that send an alert."""


def reached(budget: Budget, spend: Spend) -> list[int]:
    """The thresholds ``spend`` has reached, of the USD or the token limit."""
    shares = []
    if budget.usd_limit:
        shares.append(spend.usd / budget.usd_limit)
    if budget.token_limit:
        shares.append(spend.tokens / budget.token_limit)
    share = max(shares, default=0.0) * 100
    return [t for t in THRESHOLDS if share >= t]


class SoftLimits:
    def __init__(
        self,
        repository: BudgetRepository,
        channels: AlertRepository,
        notifier: Notifier,
        clock: Clock,
    ) -> None:
        self._repository = repository
        self._channels = channels
        self._notifier = notifier
        self._clock = clock
        self._sent: set[tuple[str, datetime, int]] = set()
        """Thresholds this process knows were recorded, so it asks the store once."""
        self._tasks: set[asyncio.Task[None]] = set()

    def check(self, budget: Budget, counter: Counter, spend: Spend) -> None:
        """Send, in the background, the alerts ``spend`` calls for."""
        for threshold in reached(budget, spend):
            mark = (budget.id, counter.start, threshold)
            if mark in self._sent:
                continue
            self._sent.add(mark)
            task = asyncio.create_task(self._send(budget, counter, threshold, spend))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the alerts being sent."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.drain()
        await self._notifier.aclose()

    async def _send(self, budget: Budget, counter: Counter, threshold: int, spend: Spend) -> None:
        try:
            if not await self._repository.claim_alert(budget, counter.start, threshold, spend):
                return
            note = notification(budget, counter, threshold, spend, self._clock())
            for channel in await self._channels.list_channels(budget.org_id):
                await self._notifier.send(channel, note)
        except Exception:
            log.exception("cannot send the %d %% alert of budget %s", threshold, budget.id)


def notification(
    budget: Budget, counter: Counter, threshold: int, spend: Spend, at: datetime
) -> Notification:
    limits = []
    if budget.usd_limit:
        limits.append(f"{dollars(spend.usd)} of {dollars(budget.usd_limit)}")
    if budget.token_limit:
        limits.append(f"{spend.tokens:,} of {budget.token_limit:,} tokens")
    text = (
        f"[BUDGET {threshold}%] {budget.describe()} has spent {' and '.join(limits)} "
        f"of its {budget.period} ({budget.reset}) budget; it resets at "
        f"{counter.end.isoformat()}."
    )
    return Notification(
        kind="budget",
        org_id=budget.org_id,
        at=at,
        window_start=counter.start,
        window_end=counter.end,
        budget={
            **budget.to_json(),
            "threshold": threshold,
            "spent_usd": spend.usd,
            "spent_tokens": spend.tokens,
        },
        text=text,
    )
