"""One recorded admin change, and how its request body is kept (masked, bounded)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from relayscope.alerts.channels import mask_url

MASK = "***"
MAX_DETAIL_BYTES = 4096
"""A body kept in the log is cut to this size: the log says what changed, it is not a
copy of every upload (a dataset import can be megabytes)."""

_SECRET_NAME = re.compile(
    r"(key|secret|token|password|passwd|credentials?|authorization|signature|cookie)$",
    re.IGNORECASE,
)
"""Field names whose values are never kept."""
_URL_NAME = re.compile(r"url$", re.IGNORECASE)
"""URLs keep only their origin: a webhook or Slack URL carries a token in its path."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    org_id: str
    at: datetime
    actor_key_id: str
    actor_name: str | None
    """The key's name when the change was made (a key may be renamed or deleted later)."""
    actor_role: str
    via: str
    """``api`` (a network call) or ``dashboard`` (a form of a signed-in session)."""
    client: str | None
    method: str
    path: str
    status: int
    detail: object
    """The request body as JSON with secrets masked, or a note saying why it is not."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": {
                "key_id": self.actor_key_id,
                "name": self.actor_name,
                "role": self.actor_role,
            },
            "via": self.via,
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "outcome": outcome(self.status),
            "detail": self.detail,
        }


def outcome(status: int) -> str:
    if status < 400:
        return "changed"
    return "refused" if status in (401, 403) else "failed"


def masked_detail(body: bytes) -> object:
    """What the log keeps of a request body: its JSON with every secret-named field
    masked, or a note when it is empty, not JSON, or too large."""
    if not body:
        return None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"note": f"{len(body)} bytes, not JSON"}
    masked = _mask(value)
    if len(orjson.dumps(masked)) > MAX_DETAIL_BYTES:
        return {"note": f"{len(body)} bytes of JSON, too large to keep"}
    return masked


def _mask(value: object) -> object:
    if isinstance(value, dict):
        return {k: _masked_field(str(k), v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _masked_field(name: str, value: object) -> object:
    if value in (None, ""):
        return value
    if _SECRET_NAME.search(name):
        return MASK
    if _URL_NAME.search(name):
        return mask_url(value) if isinstance(value, str) else MASK
    return _mask(value)
