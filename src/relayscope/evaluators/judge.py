"""LLM-as-judge: a prompt filled with a request's input and output, sent through the
gateway to a configured model, its answer read as a score (``verdict``).

The judge's call is a normal proxied request of the same org: logged, priced and
counted like any other, and tagged with the ``EVALUATOR_PROPERTY`` property (the
evaluator's name), so its cost shows in the explorer and analytics. A record with
that property is never evaluated itself: a judge cannot judge its own calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relayscope.evaluators.model import Failed, JudgeError, Kind, Outcome, Run, Subject
from relayscope.evaluators.verdict import Scale, read_verdict
from relayscope.prompts.template import Template

VARIABLES = ("input", "output")
"""The placeholders a judge's prompt may use: ``{{input}}`` and ``{{output}}``."""
MAX_TEXT_CHARS = 50_000
"""The input and output a prompt is filled with are cut to this length each, so a
huge request cannot make an unboundedly costly judge call."""
DEFAULT_MAX_TOKENS = 256


@dataclass(frozen=True, slots=True)
class JudgeCheck:
    model: str
    prompt: str
    """The user message, with ``{{input}}`` and ``{{output}}``."""
    provider: str = "openai"
    system: str | None = None
    scale: Scale = "boolean"
    min: float = 0.0
    max: float = 1.0
    max_tokens: int = DEFAULT_MAX_TOKENS
    kind: Kind = "llm_judge"

    def template(self) -> Template:
        messages: list[Any] = []
        if self.system:
            messages.append({"role": "system", "content": self.system})
        messages.append({"role": "user", "content": self.prompt})
        return Template(messages=messages)

    def body(self, subject: Subject) -> dict[str, object]:
        filled = self.template().fill(
            {
                "input": subject.input_text[:MAX_TEXT_CHARS],
                "output": subject.output_text[:MAX_TEXT_CHARS],
            }
        )
        return {
            "model": self.model,
            "messages": filled.messages,
            "max_tokens": self.max_tokens,
            "temperature": 0,
        }

    async def evaluate(self, subject: Subject, run: Run) -> Outcome:
        if run.judge is None:
            return Failed("no judge is available in this process")
        try:
            answer = await run.judge.complete(
                run, self.provider, self.body(subject), subject.request_id
            )
        except JudgeError as exc:
            return Failed(f"the judge's call failed: {exc}")
        return read_verdict(answer, self.scale, self.min, self.max)

    def config(self) -> dict[str, object]:
        shown: dict[str, object] = {
            "model": self.model,
            "provider": self.provider,
            "prompt": self.prompt,
            "system": self.system,
            "scale": self.scale,
            "max_tokens": self.max_tokens,
        }
        if self.scale == "number":
            shown |= {"min": self.min, "max": self.max}
        return shown
