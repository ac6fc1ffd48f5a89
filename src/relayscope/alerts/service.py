"""Everything alerts and request webhooks run in a gateway process, started and
stopped with it."""

from __future__ import annotations

from relayscope.alerts.channels import Channel
from relayscope.alerts.evaluator import Evaluator
from relayscope.alerts.notify import Notification, Notifier
from relayscope.alerts.outbound import Delivery, Poster
from relayscope.alerts.repository import AlertRepository, Clock, utc_now
from relayscope.alerts.settings import AlertsSettings
from relayscope.logs.writer import LogWriter
from relayscope.store.base import LogStore
from relayscope.store.database import Database
from relayscope.webhooks.dispatcher import WebhookDispatcher
from relayscope.webhooks.repository import WebhookRepository


class AlertsService:
    def __init__(
        self,
        settings: AlertsSettings,
        database: Database,
        writer: LogWriter | None = None,
        *,
        clock: Clock = utc_now,
        logs: LogStore | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.repository = AlertRepository(database, clock)
        self.webhooks = WebhookRepository(database)
        self.poster = Poster(
            timeout=settings.delivery_timeout,
            attempts=settings.delivery_attempts,
            backoff=settings.delivery_backoff,
            allow_private=settings.allow_private_targets,
        )
        self.notifier = Notifier(settings, self.poster)
        self.evaluator = Evaluator(
            database,
            self.repository,
            self.notifier,
            interval=settings.interval,
            lease_ttl=settings.effective_lease_ttl,
            clock=clock,
            logs=logs,
        )
        self.dispatcher: WebhookDispatcher | None = None
        if settings.request_webhooks and writer is not None:
            self.dispatcher = WebhookDispatcher(
                self.webhooks,
                self.poster,
                queue_size=settings.webhook_queue_size,
                cache_ttl=settings.webhook_cache_ttl,
            )
            writer.add_hook(self.dispatcher)

    def start(self) -> None:
        if self.settings.enabled:
            self.evaluator.start()
        if self.dispatcher is not None:
            self.dispatcher.start()

    async def stop(self) -> None:
        """Stop evaluating and finish (or give up on) deliveries; call after the writer closed."""
        await self.evaluator.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        await self.poster.aclose()

    async def send_test(self, channel: Channel) -> Delivery:
        """One attempt, so the answer comes at once."""
        note = Notification(kind="test", org_id=channel.org_id, at=self.clock())
        return await self.notifier.send(channel, note, attempts=1)

    def webhooks_changed(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.invalidate()
