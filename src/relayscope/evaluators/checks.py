"""The deterministic evaluators: each a frozen check with one ``evaluate``.

Each answers a boolean score: true when the request passes. A check that cannot
decide (a regex that ran out of time, a cost the gateway could not price) fails the
evaluation instead of guessing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from jsonschema.protocols import Validator

from relayscope.evaluators.model import Failed, Kind, Outcome, Run, Scored, Subject
from relayscope.evaluators.patterns import Pattern, SearchTimeout, search
from relayscope.evaluators.schemas import first_error

Expect = Literal["match", "no_match"]
Field = Literal["output", "input"]


@dataclass(frozen=True, slots=True)
class RegexCheck:
    pattern: Pattern
    expect: Expect = "match"
    field: Field = "output"
    ignore_case: bool = False
    kind: Kind = "regex"

    async def evaluate(self, subject: Subject, run: Run) -> Outcome:
        try:
            found = await search(self.pattern, _text(subject, self.field))
        except SearchTimeout as exc:
            return Failed(str(exc))
        return Scored(found == (self.expect == "match"))

    def config(self) -> dict[str, object]:
        return {
            "pattern": self.pattern.pattern,
            "expect": self.expect,
            "field": self.field,
            "ignore_case": self.ignore_case,
        }


@dataclass(frozen=True, slots=True)
class ContainsCheck:
    text: str
    expect: Expect = "match"
    field: Field = "output"
    case_sensitive: bool = False
    kind: Kind = "contains"

    async def evaluate(self, subject: Subject, run: Run) -> Outcome:
        haystack = _text(subject, self.field)
        if self.case_sensitive:
            found = self.text in haystack
        else:
            found = self.text.casefold() in haystack.casefold()
        return Scored(found == (self.expect == "match"))

    def config(self) -> dict[str, object]:
        return {
            "text": self.text,
            "expect": self.expect,
            "field": self.field,
            "case_sensitive": self.case_sensitive,
        }


@dataclass(frozen=True, slots=True)
class JsonSchemaCheck:
    schema: Any
    validator: Validator = field(compare=False)
    kind: Kind = "json_schema"

    async def evaluate(self, subject: Subject, run: Run) -> Outcome:
        try:
            problem = await asyncio.to_thread(first_error, self.validator, subject.output_text)
        except SearchTimeout as exc:
            return Failed(str(exc))
        return Scored(problem is None)

    def config(self) -> dict[str, object]:
        return {"schema": self.schema}


@dataclass(frozen=True, slots=True)
class LengthCheck:
    """The answer's length in characters, within ``[min, max]`` (either may be open)."""

    min: int | None = None
    max: int | None = None
    field: Field = "output"
    kind: Kind = "length"

    async def evaluate(self, subject: Subject, run: Run) -> Outcome:
        return Scored(_within(len(_text(subject, self.field)), self.min, self.max))

    def config(self) -> dict[str, object]:
        return {"min": self.min, "max": self.max, "field": self.field}


@dataclass(frozen=True, slots=True)
class LatencyCheck:
    """The request took at most ``max_ms`` (and at least ``min_ms``) milliseconds."""

    max_ms: float | None = None
    min_ms: float | None = None
    kind: Kind = "latency"

    async def evaluate(self, subject: Subject, run: Run) -> Outcome:
        return Scored(_within(subject.latency_ms, self.min_ms, self.max_ms))

    def config(self) -> dict[str, object]:
        return {"min_ms": self.min_ms, "max_ms": self.max_ms}


@dataclass(frozen=True, slots=True)
class CostCheck:
    """The request cost at most ``max_usd`` (and at least ``min_usd``)."""

    max_usd: float | None = None
    min_usd: float | None = None
    kind: Kind = "cost"

    async def evaluate(self, subject: Subject, run: Run) -> Outcome:
        if subject.cost_usd is None:
            return Failed("the gateway has no price for this request's model")
        return Scored(_within(subject.cost_usd, self.min_usd, self.max_usd))

    def config(self) -> dict[str, object]:
        return {"min_usd": self.min_usd, "max_usd": self.max_usd}


def _text(subject: Subject, which: Field) -> str:
    return subject.output_text if which == "output" else subject.input_text


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)
