"""What an alert says, and sending it through a channel (webhook, Slack, email)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import orjson

from relayscope.alerts.channels import Channel
from relayscope.alerts.outbound import Attempt, Delivery, Poster, describe, retrying
from relayscope.alerts.rules import UNITS
from relayscope.alerts.settings import AlertsSettings

log = logging.getLogger("relayscope.alerts")


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    kind: str
    """``firing``, ``resolved``, ``budget`` (a soft limit reached) or ``test``."""
    org_id: str
    at: datetime
    event_id: str | None = None
    rule: dict[str, Any] = field(default_factory=dict)
    """The rule's id, name and definition (empty for a test)."""
    value: float | None = None
    observed: float | None = None
    baseline: float | None = None
    requests: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    budget: dict[str, Any] = field(default_factory=dict)
    """For ``budget``: the budget, the threshold reached, the spend and its period."""
    text: str | None = None
    """For ``budget``: the summary, written by ``budgets.soft_limits``."""

    @property
    def event(self) -> str:
        return f"alert.{self.kind}"

    def payload(self) -> dict[str, Any]:
        """The generic webhook's JSON body."""
        return {
            "type": self.event,
            "timestamp": int(self.at.timestamp()),
            "sent_at": self.at.isoformat(),
            "org_id": self.org_id,
            "event_id": self.event_id,
            "summary": self.summary(),
            "rule": self.rule or None,
            "value": self.value,
            "observed": self.observed,
            "baseline": self.baseline,
            "request_count": self.requests,
            **({"budget": self.budget} if self.budget else {}),
            "window": {
                "start": self.window_start.isoformat() if self.window_start else None,
                "end": self.window_end.isoformat() if self.window_end else None,
            },
        }

    def summary(self) -> str:
        if self.kind == "test":
            return "RelayScope test notification: this channel works."
        if self.text is not None:
            return self.text
        rule = self.rule
        metric = rule["metric"]
        unit = UNITS[metric]
        label = "FIRING" if self.kind == "firing" else "RESOLVED"
        if rule["mode"] == "relative":
            now = _number(self.observed, unit)
            if self.baseline is not None and self.value is not None:
                now += f" ({self.value:+.1f}% vs {_number(self.baseline, unit)} before)"
        else:
            now = _number(self.value, unit)
        return f"[{label}] {rule['name']}: {metric} is {now}; rule: {rule['description']}"

    def slack(self) -> dict[str, Any]:
        """Slack incoming-webhook body: ``text`` for notifications, ``blocks`` for the app."""
        text = self.summary()
        fields = []
        if self.rule:
            fields = [
                {"type": "mrkdwn", "text": f"*Rule*\n{self.rule['name']}"},
                {"type": "mrkdwn", "text": f"*Condition*\n{self.rule['description']}"},
                {"type": "mrkdwn", "text": f"*Requests in window*\n{self.requests}"},
            ]
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        ]
        if fields:
            blocks.append({"type": "section", "fields": fields})
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"RelayScope · {self.at.isoformat()}"}],
            }
        )
        return {"text": text, "blocks": blocks}

    def email(self, sender: str, recipients: list[str]) -> EmailMessage:
        message = EmailMessage()
        label = {"firing": "FIRING", "resolved": "RESOLVED", "test": "TEST", "budget": "BUDGET"}[
            self.kind
        ]
        name = self.rule.get("name", "budget" if self.budget else "channel check")
        message["Subject"] = f"[RelayScope] {label}: {name}"
        message["From"] = sender
        message["To"] = ", ".join(recipients)
        lines = [self.summary(), ""]
        if self.window_start and self.window_end:
            lines.append(
                f"Window: {self.window_start.isoformat()} to {self.window_end.isoformat()}"
            )
            lines.append(f"Requests in window: {self.requests}")
        lines.append(f"Sent at {self.at.isoformat()}")
        message.set_content("\n".join(lines))
        return message


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "USD":
        return f"${value:,.4f}"
    if unit in ("requests", "tokens"):
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}"


class Notifier:
    """Sends notifications through channels; owns the outbound HTTP client."""

    def __init__(self, settings: AlertsSettings, poster: Poster | None = None) -> None:
        self.settings = settings
        self.poster = poster or Poster(
            timeout=settings.delivery_timeout,
            attempts=settings.delivery_attempts,
            backoff=settings.delivery_backoff,
            allow_private=settings.allow_private_targets,
        )

    async def aclose(self) -> None:
        await self.poster.aclose()

    async def send(
        self, channel: Channel, note: Notification, *, attempts: int | None = None
    ) -> Delivery:
        try:
            delivery = await self._send(channel, note, attempts)
        except Exception as exc:  # a broken channel must not stop the others
            delivery = Delivery(False, 1, error=describe(exc, *channel.secrets))
        if not delivery.ok:
            log.warning(
                "%s notification to channel %r (%s, id %s) failed after %d attempt(s): %s",
                note.event,
                channel.name,
                channel.kind,
                channel.id,
                delivery.attempts,
                delivery.error,
            )
        return delivery

    async def _send(self, channel: Channel, note: Notification, attempts: int | None) -> Delivery:
        stamp = int(note.at.timestamp())
        if channel.kind == "webhook":
            body = orjson.dumps(note.payload())
            return await self.poster.post(
                channel.config["url"],
                body,
                event=note.event,
                timestamp=stamp,
                secret=channel.config["secret"],
                attempts=attempts,
            )
        if channel.kind == "slack":
            body = orjson.dumps(note.slack())
            return await self.poster.post(
                channel.config["url"], body, event=note.event, timestamp=stamp, attempts=attempts
            )
        message = note.email(self.settings.smtp_from, channel.config["to"])
        return await retrying(
            lambda: self._email_once(message),
            attempts=attempts or self.settings.delivery_attempts,
            backoff=self.settings.delivery_backoff,
            sleep=asyncio.sleep,
        )

    async def _email_once(self, message: EmailMessage) -> Attempt:
        try:
            await asyncio.to_thread(self._smtp_send, message)
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
            return Attempt(False, retry=False, error=describe(exc, self.settings.smtp_password))
        except (smtplib.SMTPException, OSError) as exc:
            return Attempt(False, retry=True, error=describe(exc, self.settings.smtp_password))
        return Attempt(True)

    def _smtp_send(self, message: EmailMessage) -> None:
        s = self.settings
        if not s.smtp_host:
            raise smtplib.SMTPNotSupportedError("RELAYSCOPE_ALERTS_SMTP_HOST is not set")
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
            smtp.ehlo()
            if s.smtp_starttls:
                if not smtp.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError(
                        "the SMTP server does not offer STARTTLS "
                        "(set RELAYSCOPE_ALERTS_SMTP_STARTTLS=false to send without it)"
                    )
                smtp.starttls(context=ssl.create_default_context(cafile=s.smtp_ca_file or None))
                smtp.ehlo()
            if s.smtp_username:
                password = s.smtp_password
                smtp.login(s.smtp_username, getattr(password, "reveal", lambda: password)())
            smtp.send_message(message)
