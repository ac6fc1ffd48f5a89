"""What the store holds about prompts: versions (immutable), summaries and heads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from relayscope.prompts.template import Template

PRODUCTION = "production"
"""The label a request uses when it names no version."""


@dataclass(frozen=True, slots=True)
class PromptVersion:
    prompt_id: str
    version: int
    template: Template
    model: str | None
    parameters: Mapping[str, Any]
    note: str | None
    created_by: str | None
    created_at: datetime

    def content_json(self) -> dict[str, Any]:
        """What the version says, without who/when: what ``prompts diff`` compares."""
        return {
            "messages": self.template.messages,
            "system": self.template.system,
            "model": self.model,
            "parameters": dict(self.parameters),
        }

    def to_json(self, labels: list[str] | None = None) -> dict[str, Any]:
        return {
            "prompt_id": self.prompt_id,
            "version": self.version,
            **self.content_json(),
            "variables": list(self.template.variables),
            "note": self.note,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            **({"labels": labels} if labels is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class PromptSummary:
    id: str
    created_at: datetime
    latest_version: int
    labels: dict[str, int] = field(default_factory=dict)

    def labels_of(self, version: int) -> list[str]:
        return sorted(label for label, n in self.labels.items() if n == version)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at.isoformat(),
            "latest_version": self.latest_version,
            "labels": dict(sorted(self.labels.items())),
        }


@dataclass(frozen=True, slots=True)
class Head:
    """Enough to resolve a request's version without loading every version."""

    latest: int
    latest_template_hash: str
    labels: Mapping[str, int]

    def default_version(self) -> int:
        return self.labels.get(PRODUCTION, self.latest)
