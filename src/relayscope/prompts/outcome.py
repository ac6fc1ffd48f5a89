"""Which prompt filled one request (``Context.prompt``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class PromptOutcome:
    """The ``Helicone-Prompt-*`` headers as the prompt stage took them."""

    id: str
    """The ``Helicone-Prompt-Id`` the body was filled from (or only tagged with, for a
    prompt the gateway does not hold)."""
    variables: dict[str, Any]
    """The ``Helicone-Prompt-Variables`` the template was filled with."""
    version: int | None = None
    """The version used (stored, or registered from the inline template); None while
    it is being resolved, or when there is none."""
