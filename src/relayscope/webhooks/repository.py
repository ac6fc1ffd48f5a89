"""Persistence of request webhooks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

from relayscope.alerts.channels import mask_url, signing_secret, target_url
from relayscope.alerts.rules import invalid, parse_properties
from relayscope.alerts.settings import MASK
from relayscope.errors import BadRequest
from relayscope.proxy.tags import property_name
from relayscope.record import LogRecord
from relayscope.store.database import Database
from relayscope.store.schema import request_webhooks

_FIELDS = {"url", "secret", "include_bodies", "properties"}


@dataclass(frozen=True, slots=True)
class RequestWebhook:
    id: str
    org_id: str
    url: str
    secret: str
    include_bodies: bool
    """Send the request and response bodies too (off by default: they may hold user data)."""
    properties: dict[str, str]
    """Only records carrying every one of these properties (empty: every record)."""
    created_at: datetime

    def matches(self, record: LogRecord) -> bool:
        return record.org_id == self.org_id and all(
            record.properties.get(property_name(name)) == value
            for name, value in self.properties.items()
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": mask_url(self.url),
            "secret": MASK,
            "include_bodies": self.include_bodies,
            "properties": self.properties,
            "created_at": self.created_at.isoformat(),
        }


def parse_webhook(data: object, *, allow_private: bool) -> dict[str, Any]:
    """Validated fields for ``WebhookRepository.create``, or BadRequest naming the field."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object describing the webhook")
    for key in data:
        if key not in _FIELDS:
            raise invalid(key, "unknown field")
    include_bodies = data.get("include_bodies", False)
    if not isinstance(include_bodies, bool):
        raise invalid("include_bodies", "must be true or false")
    return {
        "url": target_url(data.get("url"), "url", allow_private=allow_private),
        "secret": signing_secret(data.get("secret"), "secret"),
        "include_bodies": include_bodies,
        "properties": parse_properties(data.get("properties"), "properties"),
    }


class WebhookRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(
        self,
        org_id: str,
        *,
        url: str,
        secret: str,
        include_bodies: bool = False,
        properties: dict[str, str] | None = None,
    ) -> RequestWebhook:
        hook = RequestWebhook(
            str(uuid.uuid4()),
            org_id,
            url,
            secret,
            include_bodies,
            properties or {},
            datetime.now(UTC),
        )
        async with self.database.begin() as conn:
            await conn.execute(
                request_webhooks.insert().values(
                    id=hook.id,
                    org_id=org_id,
                    url=url,
                    secret=secret,
                    include_bodies=include_bodies,
                    properties=hook.properties,
                    created_at=hook.created_at,
                )
            )
        return hook

    async def list(self, org_id: str | None = None) -> list[RequestWebhook]:
        """An org's webhooks, or every org's when ``org_id`` is None."""
        query = select(request_webhooks).order_by(request_webhooks.c.created_at)
        if org_id is not None:
            query = query.where(request_webhooks.c.org_id == org_id)
        async with self.database.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RequestWebhook(
                r.id,
                r.org_id,
                r.url,
                r.secret,
                r.include_bodies,
                r.properties,
                r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC),
            )
            for r in rows
        ]

    async def delete(self, org_id: str, webhook_id: str) -> bool:
        async with self.database.begin() as conn:
            result = await conn.execute(
                delete(request_webhooks).where(
                    request_webhooks.c.org_id == org_id, request_webhooks.c.id == webhook_id
                )
            )
        return result.rowcount > 0
