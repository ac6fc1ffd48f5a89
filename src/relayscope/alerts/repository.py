"""Persistence of alert channels, rules (with their evaluation state) and history."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from relayscope.alerts.channels import Channel
from relayscope.alerts.metrics import Measurement
from relayscope.alerts.rules import RuleSpec, parse_rule
from relayscope.store.database import Database
from relayscope.store.order import decode_cursor, encode_cursor
from relayscope.store.schema import alert_channels, alert_events, alert_rules

Clock = Callable[[], datetime]

OK, FIRING, RESOLVED = "ok", "firing", "resolved"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    org_id: str
    spec: RuleSpec
    state: str
    """``ok`` (never fired), ``firing`` or ``resolved``."""
    value: float | None
    baseline: float | None
    request_count: int | None
    evaluated_at: datetime | None
    fired_at: datetime | None
    changed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.to_json(),
            "state": self.state,
            "value": self.value,
            "baseline": self.baseline,
            "request_count": self.request_count,
            "evaluated_at": _iso(self.evaluated_at),
            "last_fired_at": _iso(self.fired_at),
            "state_changed_at": _iso(self.changed_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    rule_id: str
    rule_name: str
    kind: str
    value: float | None
    baseline: float | None
    threshold: float
    request_count: int
    window_start: datetime
    window_end: datetime
    deliveries: list[dict[str, Any]]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "rule_name": self.rule_name,
            "kind": self.kind,
            "value": self.value,
            "baseline": self.baseline,
            "threshold": self.threshold,
            "request_count": self.request_count,
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "deliveries": self.deliveries,
            "created_at": _iso(self.created_at),
        }


class AlertRepository:
    def __init__(self, database: Database, clock: Clock = utc_now) -> None:
        self.database = database
        self.clock = clock

    # channels

    async def create_channel(
        self, org_id: str, name: str, kind: str, config: dict[str, Any]
    ) -> Channel:
        channel = Channel(str(uuid.uuid4()), org_id, name, kind, config, self.clock())
        async with self.database.begin() as conn:
            await conn.execute(
                alert_channels.insert().values(
                    id=channel.id,
                    org_id=org_id,
                    name=name,
                    kind=kind,
                    config=config,
                    created_at=channel.created_at,
                )
            )
        return channel

    async def list_channels(self, org_id: str, ids: Sequence[str] | None = None) -> list[Channel]:
        query = select(alert_channels).where(alert_channels.c.org_id == org_id)
        if ids is not None:
            query = query.where(alert_channels.c.id.in_(list(ids)))
        async with self.database.connect() as conn:
            rows = (await conn.execute(query.order_by(alert_channels.c.created_at))).all()
        return [
            Channel(r.id, r.org_id, r.name, r.kind, r.config, _aware(r.created_at)) for r in rows
        ]

    async def get_channel(self, org_id: str, channel_id: str) -> Channel | None:
        found = await self.list_channels(org_id, [channel_id])
        return found[0] if found else None

    async def delete_channel(self, org_id: str, channel_id: str) -> bool:
        """Delete a channel and take it off every rule of the org."""
        async with self.database.begin() as conn:
            result = await conn.execute(
                delete(alert_channels).where(
                    alert_channels.c.org_id == org_id, alert_channels.c.id == channel_id
                )
            )
            rows = (
                await conn.execute(
                    select(alert_rules.c.id, alert_rules.c.definition).where(
                        alert_rules.c.org_id == org_id
                    )
                )
            ).all()
            for row in rows:
                channels = row.definition.get("channels", [])
                if channel_id in channels:
                    definition = {
                        **row.definition,
                        "channels": [c for c in channels if c != channel_id],
                    }
                    await conn.execute(
                        update(alert_rules)
                        .where(alert_rules.c.id == row.id)
                        .values(definition=definition)
                    )
        return result.rowcount > 0

    # rules

    async def create_rule(self, org_id: str, spec: RuleSpec) -> Rule:
        now = self.clock()
        rule_id = str(uuid.uuid4())
        async with self.database.begin() as conn:
            await conn.execute(
                alert_rules.insert().values(
                    id=rule_id,
                    org_id=org_id,
                    definition=spec.definition(),
                    enabled=spec.enabled,
                    state=OK,
                    created_at=now,
                    updated_at=now,
                )
            )
        rule = await self.get_rule(org_id, rule_id)
        assert rule is not None
        return rule

    async def update_rule(self, org_id: str, rule_id: str, spec: RuleSpec) -> Rule | None:
        """Replace a rule's definition; its state carries on (the next evaluation decides)."""
        async with self.database.begin() as conn:
            result = await conn.execute(
                update(alert_rules)
                .where(alert_rules.c.org_id == org_id, alert_rules.c.id == rule_id)
                .values(definition=spec.definition(), enabled=spec.enabled, updated_at=self.clock())
            )
        return await self.get_rule(org_id, rule_id) if result.rowcount else None

    async def delete_rule(self, org_id: str, rule_id: str) -> bool:
        async with self.database.begin() as conn:
            result = await conn.execute(
                delete(alert_rules).where(
                    alert_rules.c.org_id == org_id, alert_rules.c.id == rule_id
                )
            )
        return result.rowcount > 0

    async def get_rule(self, org_id: str, rule_id: str) -> Rule | None:
        query = select(alert_rules).where(
            alert_rules.c.org_id == org_id, alert_rules.c.id == rule_id
        )
        async with self.database.connect() as conn:
            row = (await conn.execute(query)).first()
        return _rule(row) if row else None

    async def list_rules(
        self, org_id: str | None = None, *, enabled: bool | None = None
    ) -> list[Rule]:
        """An org's rules (every org's when ``org_id`` is None), oldest first."""
        query = select(alert_rules)
        if org_id is not None:
            query = query.where(alert_rules.c.org_id == org_id)
        if enabled is not None:
            query = query.where(alert_rules.c.enabled == enabled)
        async with self.database.connect() as conn:
            rows = (await conn.execute(query.order_by(alert_rules.c.created_at))).all()
        return [_rule(row) for row in rows]

    async def record_measurement(self, rule: Rule, m: Measurement, at: datetime) -> None:
        async with self.database.begin() as conn:
            await conn.execute(
                update(alert_rules)
                .where(alert_rules.c.id == rule.id)
                .values(
                    value=m.value, baseline=m.baseline, request_count=m.requests, evaluated_at=at
                )
            )

    async def transition(
        self,
        rule: Rule,
        state: str,
        m: Measurement,
        at: datetime,
        window: tuple[datetime, datetime],
    ) -> Event:
        """Move ``rule`` to ``state`` and add the firing/resolution to the history, atomically."""
        event = Event(
            id=str(uuid.uuid4()),
            rule_id=rule.id,
            rule_name=rule.spec.name,
            kind=state,
            value=m.value,
            baseline=m.baseline,
            threshold=rule.spec.threshold,
            request_count=m.requests,
            window_start=window[0],
            window_end=window[1],
            deliveries=[],
            created_at=at,
        )
        values: dict[str, Any] = {"state": state, "changed_at": at}
        if state == FIRING:
            values["fired_at"] = at
        async with self.database.begin() as conn:
            await conn.execute(
                update(alert_rules).where(alert_rules.c.id == rule.id).values(**values)
            )
            await conn.execute(
                alert_events.insert().values(org_id=rule.org_id, **_event_row(event))
            )
        return event

    async def set_deliveries(self, event_id: str, deliveries: list[dict[str, Any]]) -> None:
        async with self.database.begin() as conn:
            await conn.execute(
                update(alert_events)
                .where(alert_events.c.id == event_id)
                .values(deliveries=deliveries)
            )

    async def list_events(
        self, org_id: str, *, rule_id: str | None, limit: int, cursor: str | None
    ) -> tuple[list[Event], str | None]:
        """Newest first; ``cursor`` continues after the last page."""
        c = alert_events.c
        query = select(alert_events).where(c.org_id == org_id)
        if rule_id is not None:
            query = query.where(c.rule_id == rule_id)
        if cursor is not None:
            created_at, last_id = decode_cursor(cursor)
            query = query.where(
                or_(c.created_at < created_at, and_(c.created_at == created_at, c.id < last_id))
            )
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
        async with self.database.connect() as conn:
            rows = (await conn.execute(query)).all()
        events = [_event(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            next_cursor = encode_cursor(events[-1].created_at, events[-1].id)
        return events, next_cursor


def _event_row(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "rule_id": event.rule_id,
        "rule_name": event.rule_name,
        "kind": event.kind,
        "value": event.value,
        "baseline": event.baseline,
        "threshold": event.threshold,
        "request_count": event.request_count,
        "window_start": event.window_start,
        "window_end": event.window_end,
        "deliveries": event.deliveries,
        "created_at": event.created_at,
    }


def _rule(row: Any) -> Rule:
    return Rule(
        id=row.id,
        org_id=row.org_id,
        spec=parse_rule(row.definition),
        state=row.state,
        value=row.value,
        baseline=row.baseline,
        request_count=row.request_count,
        evaluated_at=_utc(row.evaluated_at),
        fired_at=_utc(row.fired_at),
        changed_at=_utc(row.changed_at),
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
    )


def _event(row: Any) -> Event:
    return Event(
        id=row.id,
        rule_id=row.rule_id,
        rule_name=row.rule_name,
        kind=row.kind,
        value=row.value,
        baseline=row.baseline,
        threshold=row.threshold,
        request_count=row.request_count,
        window_start=_aware(row.window_start),
        window_end=_aware(row.window_end),
        deliveries=row.deliveries,
        created_at=_aware(row.created_at),
    )
