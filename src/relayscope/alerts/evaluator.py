"""The alert evaluator: a scheduler task inside the gateway process.

Every ``interval`` seconds (aligned to the clock, so replicas agree on tick
numbers) it claims the tick through the shared-store lease; the one replica that
gets it measures every enabled rule and moves its state:

    ok/resolved --breached, cooldown over--> firing --not breached--> resolved

Each move is stored in the history and announced on the rule's channels. A rule
that fired less than ``cooldown`` ago does not fire again, so a flapping metric
yields at most one firing (and one resolution) per cooldown. A window with fewer
than ``min_requests`` requests counts as not breached.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from relayscope.alerts.lease import Lease
from relayscope.alerts.metrics import Measurement, measure
from relayscope.alerts.notify import Notification, Notifier
from relayscope.alerts.repository import FIRING, RESOLVED, AlertRepository, Clock, Event, Rule
from relayscope.store.base import LogStore
from relayscope.store.database import Database

log = logging.getLogger("relayscope.alerts")

LEASE_NAME = "alerts-evaluator"


class Evaluator:
    def __init__(
        self,
        database: Database,
        repository: AlertRepository,
        notifier: Notifier,
        *,
        interval: float,
        lease_ttl: float,
        clock: Clock,
        holder: str | None = None,
        logs: LogStore | None = None,
    ) -> None:
        self.database = database
        self.logs = logs
        """Where the records live when not in ``database`` (ClickHouse)."""
        self.repository = repository
        self.notifier = notifier
        self.interval = interval
        self.clock = clock
        self.lease = Lease(database, LEASE_NAME, ttl=lease_ttl, holder=holder)
        self.ticks_evaluated: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()

    def tick_of(self, now: datetime) -> int:
        return int(now.timestamp() // self.interval)

    async def tick(self) -> bool:
        """Evaluate every rule if this replica wins the current tick; True when it did."""
        now = self.clock()
        tick = self.tick_of(now)
        if not await self.lease.claim(tick, now):
            return False
        self.ticks_evaluated.append(tick)
        for rule in await self.repository.list_rules(enabled=True):
            try:
                await self.evaluate(rule, now)
            except Exception:  # one broken rule must not silence the others
                log.exception("could not evaluate alert rule %s", rule.id)
        return True

    async def evaluate(self, rule: Rule, now: datetime) -> Event | None:
        """Measure ``rule`` at ``now`` and move its state; the history event, if any."""
        spec = rule.spec
        m = await measure(self.database, rule.org_id, spec, now, self.logs)
        await self.repository.record_measurement(rule, m, now)
        breached = m.value is not None and spec.breached(m.value)
        window = (now - timedelta(seconds=spec.window), now)
        if breached and rule.state != FIRING:
            cooling = rule.fired_at is not None and now - rule.fired_at < timedelta(
                seconds=spec.cooldown
            )
            if cooling:
                return None
            event = await self.repository.transition(rule, FIRING, m, now, window)
        elif not breached and rule.state == FIRING:
            event = await self.repository.transition(rule, RESOLVED, m, now, window)
        else:
            return None
        log.info("alert rule %r (%s) is now %s", spec.name, rule.id, event.kind)
        self._announce(rule, event, m)
        return event

    def _announce(self, rule: Rule, event: Event, m: Measurement) -> None:
        note = Notification(
            kind=event.kind,
            org_id=rule.org_id,
            at=event.created_at,
            event_id=event.id,
            rule={"id": rule.id, **rule.spec.to_json()},
            value=m.value,
            observed=m.observed,
            baseline=m.baseline,
            requests=m.requests,
            window_start=event.window_start,
            window_end=event.window_end,
        )
        task = asyncio.create_task(self._deliver(rule, event, note))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, rule: Rule, event: Event, note: Notification) -> None:
        if not rule.spec.channels:
            return
        try:
            channels = await self.repository.list_channels(rule.org_id, rule.spec.channels)
            results = await asyncio.gather(*(self.notifier.send(c, note) for c in channels))
            await self.repository.set_deliveries(
                event.id,
                [
                    {"channel_id": c.id, "channel": c.name, "type": c.kind, **d.to_json()}
                    for c, d in zip(channels, results, strict=True)
                ],
            )
        except Exception:
            log.exception("could not notify the channels of alert rule %s", rule.id)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the notifications under way."""
        if self._deliveries:
            await asyncio.wait_for(asyncio.gather(*self._deliveries), timeout)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="relayscope-alerts-evaluator")

    async def stop(self, timeout: float = 10.0) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.ticks_evaluated:
            try:
                await self.lease.release()
            except Exception:
                log.warning("could not release the alert evaluator lease", exc_info=True)
        try:
            await self.drain(timeout)
        except TimeoutError:
            for task in self._deliveries:
                task.cancel()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("alert evaluation failed")
            # Sleep to just past the next tick boundary so every replica sees the same tick.
            elapsed = self.clock().timestamp() % self.interval
            await asyncio.sleep(self.interval - elapsed + min(0.01, self.interval / 100))
