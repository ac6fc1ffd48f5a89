"""Notification channels: a signed generic webhook, a Slack incoming webhook, email.

Secrets (the webhook signing secret, the Slack URL, which is itself a credential)
are stored for sending and never shown: ``Channel.to_json`` masks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from relayscope.alerts.outbound import TargetRefused, check_url
from relayscope.alerts.rules import invalid
from relayscope.alerts.settings import MASK
from relayscope.errors import BadRequest

KINDS = ("webhook", "slack", "email")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_SECRET = 16


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    org_id: str
    name: str
    kind: str
    config: dict[str, Any]
    """Kind-specific settings, secrets included: never serialise it as is."""
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any]
        if self.kind == "webhook":
            shown = {"url": mask_url(self.config["url"]), "secret": MASK}
        elif self.kind == "slack":
            shown = {"url": mask_url(self.config["url"])}
        else:
            shown = {"to": list(self.config["to"])}
        return {
            "id": self.id,
            "name": self.name,
            "type": self.kind,
            "config": shown,
            "created_at": self.created_at.isoformat(),
        }

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that must never appear in a log line or an API answer."""
        if self.kind == "webhook":
            return (self.config["url"], self.config["secret"])
        if self.kind == "slack":
            return (self.config["url"],)
        return ()


def mask_url(url: str) -> str:
    """``url`` reduced to scheme, host and port: paths and queries often carry tokens
    (Slack's and Discord's do), so they are shown as ``********``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    hidden = "/" + MASK if parts.path.strip("/") or parts.query else ""
    return urlunsplit((parts.scheme, host, hidden, "", ""))


def parse_channel(
    data: object, *, allow_private: bool, email_ready: bool
) -> tuple[str, str, dict[str, Any]]:
    """(name, kind, config) from API/CLI JSON, or BadRequest naming the bad field."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object describing the channel")
    kind = data.get("type")
    if kind not in KINDS:
        raise invalid("type", f"must be one of {', '.join(KINDS)}")
    allowed = {"name", "type", *{"webhook": ("url", "secret"), "slack": ("url",)}.get(kind, ())}
    if kind == "email":
        allowed.add("to")
    for key in data:
        if key not in allowed:
            raise invalid(key, f"unknown field for a {kind} channel")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise invalid("name", "required, a string of 1 to 200 characters")
    if kind == "email":
        if not email_ready:
            raise invalid("type", "email channels need RELAYSCOPE_ALERTS_SMTP_HOST on the gateway")
        to = data.get("to")
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not 1 <= len(to) <= 20:
            raise invalid("to", "required, 1 to 20 email addresses")
        for i, address in enumerate(to):
            if not isinstance(address, str) or not _EMAIL.match(address):
                raise invalid(f"to[{i}]", "is not an email address")
        return name.strip(), kind, {"to": to}
    config = {"url": target_url(data.get("url"), "url", allow_private=allow_private)}
    if kind == "webhook":
        config["secret"] = signing_secret(data.get("secret"), "secret")
    return name.strip(), kind, config


def target_url(value: object, field: str, *, allow_private: bool) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(field, "required, an http(s) URL")
    try:
        return check_url(value, allow_private=allow_private)
    except TargetRefused as exc:
        raise invalid(field, str(exc)) from None


def signing_secret(value: object, field: str) -> str:
    if not isinstance(value, str) or len(value) < MIN_SECRET or len(value) > 256:
        raise invalid(field, f"required, a signing secret of {MIN_SECRET} to 256 characters")
    return value
