"""One-line previews of a request and its answer for the explorer's table: the last
thing the user said and the text of the reply, as the request page's chat shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relayscope.dashboard import chat

TITLE_CHARS = 4000
"""The hover text holds this much at most; the request's page has the rest."""
CELL_CHARS = 300
"""More than a cell shows: CSS ends the line with an ellipsis."""


@dataclass(frozen=True, slots=True)
class Preview:
    text: str
    """Whitespace folded to single spaces, cut to ``CELL_CHARS``."""
    title: str
    """The same, cut to ``TITLE_CHARS``, for the cell's tooltip."""


def _one_line(text: str) -> Preview | None:
    folded = " ".join(text.split())
    if not folded:
        return None
    return Preview(_cut(folded, CELL_CHARS), _cut(folded, TITLE_CHARS))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def previews(request_body: Any, response_body: Any) -> tuple[Preview | None, Preview | None]:
    """(the last user message, the answer's text) of a logged request."""
    conversation = chat.messages(request_body, response_body)
    asked = [m for m in conversation if m.source == "request" and m.kind == chat.TEXT]
    users = [m for m in asked if m.role == "user"] or asked
    answered = [m for m in conversation if m.source == "response" and m.kind == chat.TEXT]
    question = _one_line(users[-1].text) if users else None
    answer = _one_line("\n".join(m.text for m in answered)) if answered else None
    return question, answer
