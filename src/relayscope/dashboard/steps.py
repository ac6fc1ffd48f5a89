"""What the session page shows of each step: its input (the last user message) and
output (the answer's text), cut to a preview, and the timeline's axis ticks, as
offsets from the session's start."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from relayscope.dashboard import chat

PREVIEW_CHARS = 160
FULL_CHARS = 20_000
"""Past this a step's text is cut even in its "show all" view; its request page has it all."""


@dataclass(frozen=True, slots=True)
class Text:
    """One side of a step, as the page shows it."""

    preview: str
    full: str
    """The text up to ``FULL_CHARS``: what "show all" opens."""
    length: int
    """Characters in the whole text."""

    @property
    def cut(self) -> bool:
        """Whether the preview leaves something out."""
        return len(self.preview) < self.length

    @property
    def cut_in_full(self) -> bool:
        return len(self.full) < self.length


@dataclass(frozen=True, slots=True)
class StepIO:
    input: Text | None
    output: Text | None


def _text(value: str) -> Text | None:
    value = value.strip()
    if not value:
        return None
    flat = " ".join(value.split())
    preview = flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1].rstrip() + "…"
    return Text(preview=preview, full=value[:FULL_CHARS], length=len(value))


def _parsed(body: str | None) -> Any:
    if body is None:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body


def step_io(request_body: str | None, response_body: str | None) -> StepIO:
    """A step's last user message and its answer, read as the request page's chat
    view reads them; a body that is no chat JSON shows as its raw text, and an
    error answer as its ``error`` object."""
    request, response = _parsed(request_body), _parsed(response_body)
    said = chat.messages(request, response)
    asked = [m for m in said if m.source == "request" and m.role == "user"]
    answered = [m.text for m in said if m.source == "response" and m.text]
    question = asked[-1].text if asked else ""
    if not question and isinstance(request, str):
        question = request
    answer = "\n".join(answered)
    if not answer and isinstance(response, str):
        answer = response
    if not answer and isinstance(response, dict) and "error" in response:
        answer = orjson.dumps(response["error"]).decode()
    return StepIO(input=_text(question), output=_text(answer))


@dataclass(frozen=True, slots=True)
class Tick:
    offset_ms: float
    label: str


def offset_label(ms: float) -> str:
    """An offset from the session's start, as a person reads it: 0, 250 ms, 1.5 s, 2 min 30 s."""
    if ms <= 0:
        return "0"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms".replace(".0 ms", " ms")
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f}".rstrip("0").rstrip(".") + " s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


_NICE_SECONDS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200]


def ticks(total_ms: float, most: int = 6) -> list[Tick]:
    """Round offsets from 0 to ``total_ms``, at most ``most`` of them plus 0: steps of
    1, 2 or 5 times a power of ten under a second, whole seconds, minutes or hours above."""
    total_ms = max(total_ms, 1.0)
    raw = total_ms / most
    if raw < 1000:
        power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    else:
        step = 1000 * next((s for s in _NICE_SECONDS if s * 1000 >= raw), math.ceil(raw / 1000))
    count = int(total_ms // step)
    return [Tick(offset_ms=i * step, label=offset_label(i * step)) for i in range(count + 1)]
