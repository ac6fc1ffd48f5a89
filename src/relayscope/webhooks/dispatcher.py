"""Delivers request webhooks off the hot path.

The dispatcher is a ``LogWriter`` post-write hook: for each stored batch it picks
the records that match an org's webhooks (the webhook list is cached for
``cache_ttl`` seconds) and queues one delivery per record and webhook. A few
worker tasks POST them, signed and retried with backoff. The queue is bounded:
when receivers fall behind, new deliveries are dropped and counted, and the
request path and the log writer never wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from relayscope.alerts.outbound import Poster
from relayscope.api.requests import record_json
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
        self.cache_ttl = cache_ttl
        self.workers = workers
        self.stats = DispatchStats()
        self._queue: asyncio.Queue[tuple[RequestWebhook, LogRecord]] = asyncio.Queue(queue_size)
        self._by_org: dict[str, list[RequestWebhook]] = {}
        self._loaded_at = float("-inf")
        self._tasks: list[asyncio.Task[None]] = []

    def invalidate(self) -> None:
        """Reload the webhook list before the next batch (after a change made here)."""
        self._loaded_at = float("-inf")

    async def __call__(self, records: list[LogRecord]) -> None:
        by_org = await self._webhooks()
        if not by_org:
            return
        for record in records:
            for hook in by_org.get(record.org_id, ()):
                if hook.matches(record):
                    self._enqueue(hook, record)

    def _enqueue(self, hook: RequestWebhook, record: LogRecord) -> None:
        try:
            self._queue.put_nowait((hook, record))
        except asyncio.QueueFull:
            self.stats.dropped += 1
            if self.stats.dropped % 1000 == 1:
                log.warning(
                    "request webhook queue is full; dropped %d deliveries so far",
                    self.stats.dropped,
                )
            return
        self.stats.queued += 1

    async def _webhooks(self) -> dict[str, list[RequestWebhook]]:
        now = time.monotonic()
        if now - self._loaded_at >= self.cache_ttl:
            try:
                hooks = await self.repository.list()
            except Exception:
                log.warning("could not load request webhooks; using the last list", exc_info=True)
            else:
                by_org: dict[str, list[RequestWebhook]] = defaultdict(list)
                for hook in hooks:
                    by_org[hook.org_id].append(hook)
                self._by_org = dict(by_org)
            self._loaded_at = now
        return self._by_org

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"relayscope-webhooks-{i}")
            for i in range(self.workers)
        ]

    async def drain(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._queue.join(), timeout)

    async def stop(self, timeout: float = 10.0) -> None:
        try:
            await self.drain(timeout)
        except TimeoutError:
            log.warning("%d request webhook deliveries were not sent", self._queue.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _work(self) -> None:
        while True:
            hook, record = await self._queue.get()
            try:
                await self._deliver(hook, record)
            except Exception:
                log.exception("request webhook %s failed", hook.id)
                self.stats.failed += 1
            finally:
                self._queue.task_done()

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
