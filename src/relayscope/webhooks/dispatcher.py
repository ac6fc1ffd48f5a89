"""Delivers request webhooks off the hot path.

The dispatcher is a ``LogWriter`` post-write hook: for each stored batch it picks
the records that match an org's webhooks (the webhook list is cached for
``cache_ttl`` seconds) and queues one delivery per record and webhook. A few
worker tasks POST them, signed and retried with backoff. The queue is bounded:
when receivers fall behind, new deliveries are dropped and counted, and the
request path and the log writer never wait.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from relayscope.alerts.outbound import Poster
from relayscope.api.requests import record_json
from relayscope.background import OrgLists, WorkQueue
from relayscope.record import LogRecord
from relayscope.webhooks.repository import RequestWebhook, WebhookRepository

log = logging.getLogger("relayscope.webhooks")

EVENT = "request.logged"


@dataclass(slots=True)
class DispatchStats:
    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0


class WebhookDispatcher:
    def __init__(
        self,
        repository: WebhookRepository,
        poster: Poster,
        *,
        queue_size: int,
        cache_ttl: float,
        workers: int = 4,
    ) -> None:
        self.repository = repository
        self.poster = poster
        self.stats = DispatchStats()
        self._webhooks = OrgLists(
            repository.list,
            lambda hook: hook.org_id,
            ttl=cache_ttl,
            what="request webhooks",
            log=log,
        )
        self._queue: WorkQueue[tuple[RequestWebhook, LogRecord]] = WorkQueue(
            self._send,
            size=queue_size,
            workers=workers,
            name="relayscope-webhooks",
            what="request webhook deliveries",
            log=log,
        )

    def invalidate(self) -> None:
        """Reload the webhook list before the next batch (after a change made here)."""
        self._webhooks.invalidate()

    async def __call__(self, records: list[LogRecord]) -> None:
        by_org = await self._webhooks.get()
        if not by_org:
            return
        for record in records:
            for hook in by_org.get(record.org_id, ()):
                if hook.matches(record):
                    self._enqueue(hook, record)

    def _enqueue(self, hook: RequestWebhook, record: LogRecord) -> None:
        if self._queue.put((hook, record)):
            self.stats.queued += 1
        else:
            self.stats.dropped += 1

    def start(self) -> None:
        self._queue.start()

    async def drain(self, timeout: float | None = None) -> None:
        await self._queue.drain(timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        await self._queue.stop(timeout)

    async def _send(self, job: tuple[RequestWebhook, LogRecord]) -> None:
        hook, record = job
        try:
            await self._deliver(hook, record)
        except Exception:
            log.exception("request webhook %s failed", hook.id)
            self.stats.failed += 1

    async def _deliver(self, hook: RequestWebhook, record: LogRecord) -> None:
        now = datetime.now(UTC)
        body = orjson.dumps(
            {
                "type": EVENT,
                "timestamp": int(now.timestamp()),
                "webhook_id": hook.id,
                "data": record_json(record, bodies=hook.include_bodies),
            }
        )
        delivery = await self.poster.post(
            hook.url, body, event=EVENT, timestamp=int(now.timestamp()), secret=hook.secret
        )
        if delivery.ok:
            self.stats.delivered += 1
            return
        self.stats.failed += 1
        log.warning(
            "request webhook %s for request %s failed after %d attempt(s): %s",
            hook.id,
            record.id,
            delivery.attempts,
            delivery.error,
        )
