"""What an evaluator is, what it looks at, and what it concludes.

An evaluator is an org's named check. Its ``name`` is also the score it writes on
each request it evaluates (``store.scores``), so its results filter the explorer,
chart in analytics and drive alerts like any score an application posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from relayscope.store.scores import ScoreValue

Kind = Literal["regex", "contains", "json_schema", "length", "latency", "cost", "llm_judge"]
KINDS: tuple[Kind, ...] = (
    "regex",
    "contains",
    "json_schema",
    "length",
    "latency",
    "cost",
    "llm_judge",
)

EVALUATOR_PROPERTY = "relayscope-evaluator"
"""The property (``Helicone-Property-Relayscope-Evaluator``) a judge's own call carries:
its cost is logged and can be filtered, and a record with it is never evaluated."""


@dataclass(frozen=True, slots=True)
class Subject:
    """What an evaluator reads of one logged request."""

    request_id: str
    input_text: str
    """The prompt as text: the messages (or input) the application sent."""
    output_text: str
    """The model's answer as text; empty when the request failed."""
    latency_ms: float
    cost_usd: float | None


@dataclass(frozen=True, slots=True)
class Scored:
    value: ScoreValue


@dataclass(frozen=True, slots=True)
class Failed:
    """The evaluator could not reach a verdict (a judge's unparsable answer, a judge
    call that failed): nothing is written on the request, and it is counted."""

    reason: str


Outcome = Scored | Failed


class Judge(Protocol):
    """Sends a judge's chat completion through the gateway; the answer's text.

    Raises JudgeError when no answer came (no provider key, an upstream error)."""

    async def complete(
        self, run: Run, provider: str, body: dict[str, object], evaluated: str
    ) -> str: ...


class JudgeError(Exception):
    """The judge's call got no answer; the message says why."""


@dataclass(frozen=True, slots=True)
class Run:
    """What an evaluation may use besides the request: who it runs for, and the judge."""

    org_id: str
    evaluator_id: str
    evaluator_name: str
    judge: Judge | None = None


class Check(Protocol):
    """One kind of evaluator, configured: reads a subject, reaches a verdict."""

    @property
    def kind(self) -> Kind: ...

    async def evaluate(self, subject: Subject, run: Run) -> Outcome: ...

    def config(self) -> dict[str, object]:
        """The settings as the API shows and takes them."""
        ...


@dataclass(frozen=True, slots=True)
class Evaluator:
    id: str
    org_id: str
    name: str
    """Also the score name its results are stored under."""
    check: Check
    sample_rate: float
    """Share of the org's live traffic evaluated (0: on demand only)."""
    created_at: datetime
    description: str = ""
    scored: int = 0
    """Evaluations that wrote a score, since it was created."""
    failed: int = 0
    """Evaluations that reached no verdict (see ``last_error``)."""
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def kind(self) -> Kind:
        return self.check.kind
