"""The request an experiment sends for one dataset row and one variant.

Every request carries the experiment, the variant and the row as Helicone
properties, so its log record, its cost and any score later put on it are found by
them like any other request's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from relayscope.datasets.repository import Row
from relayscope.experiments.variants import Variant

EXPERIMENT_PROPERTY = "Helicone-Property-Experiment"
VARIANT_PROPERTY = "Helicone-Property-Experiment-Variant"
ROW_PROPERTY = "Helicone-Property-Dataset-Row"
ANTHROPIC_MAX_TOKENS = 1024
"""Anthropic requires ``max_tokens``: what a variant that sets none sends."""
_SYSTEM_ROLES = ("system", "developer")
_PATHS = {"openai": "/openai/v1/chat/completions", "anthropic": "/anthropic/v1/messages"}


@dataclass(frozen=True, slots=True)
class Call:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class NoModel(ValueError):
    """Neither the variant, its prompt version nor the row names a model."""


def model_of(variant: Variant, row: Row, prompt_model: str | None) -> str | None:
    if variant.model:
        return variant.model
    if variant.prompt_id is not None:
        return prompt_model
    return row.model


def conversation(variant: Variant, row: Row) -> list[dict[str, Any]]:
    """The row's messages as the variant sends them: after a prompt version's own
    template, the row's system messages give way to the version's."""
    if variant.prompt_id is None:
        return row.messages
    return [m for m in row.messages if m.get("role") not in _SYSTEM_ROLES]


def call_for(experiment_id: str, variant: Variant, row: Row, prompt_model: str | None) -> Call:
    model = model_of(variant, row, prompt_model)
    if model is None:
        raise NoModel(
            f"variant {variant.name!r} names no model, and neither does the row "
            "(give the variant a model)"
        )
    headers = {
        EXPERIMENT_PROPERTY: experiment_id,
        VARIANT_PROPERTY: variant.name,
        ROW_PROPERTY: row.id,
    }
    if variant.prompt_id is not None:
        headers["Helicone-Prompt-Id"] = variant.prompt_id
        headers["Helicone-Prompt-Version"] = str(variant.prompt_version)
        if variant.variables:
            headers["Helicone-Prompt-Variables"] = orjson.dumps(variant.variables).decode()
    messages = conversation(variant, row)
    body: dict[str, Any] = {"model": model, **variant.parameters}
    if variant.provider == "anthropic":
        system = [_text(m.get("content")) for m in messages if m.get("role") in _SYSTEM_ROLES]
        body["messages"] = [m for m in messages if m.get("role") not in _SYSTEM_ROLES]
        if system:
            body["system"] = "\n\n".join(system)
        body.setdefault("max_tokens", ANTHROPIC_MAX_TOKENS)
        body.pop("max_completion_tokens", None)
    else:
        body["messages"] = messages
    return Call(_PATHS[variant.provider], headers, body)


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""
