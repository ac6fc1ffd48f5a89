"""A judge model's answer read as a score, or a reason it cannot be.

Models answer loosely: ``PASS``, ``Yes, it is.``, ``Verdict: fail``, a JSON object, a
fenced JSON block, ``Score: 7/10``. What is read, in this order:

1. a JSON object (the whole answer, a fenced block, or the first ``{...}``) with a
   ``verdict``, ``score``, ``pass``, ``result`` or ``answer`` field;
2. the last label: ``verdict:``, ``answer:``, ``result:``, ``score:``, ``rating:``,
   ``grade:`` (``:`` or ``=``; anywhere in a line, the rest of the line is the
   value), markdown emphasis ignored;
3. the answer's first word (a boolean), or its only number (a number).

Anything else is unparsable: the evaluation fails, it is never guessed. A boolean
word must be one of ``TRUE_WORDS`` / ``FALSE_WORDS``; a number must fall within the
evaluator's range.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

import orjson

from relayscope.evaluators.model import Failed, Outcome, Scored

Scale = Literal["boolean", "number"]

# No one-letter words: "N/A" must not read as "n", a no.
TRUE_WORDS = frozenset({"yes", "pass", "passed", "true", "correct", "good", "accept"})
FALSE_WORDS = frozenset({"no", "fail", "failed", "false", "incorrect", "bad", "reject"})
_FIELDS = ("verdict", "score", "pass", "result", "answer", "rating", "grade")
_LABEL_WORD = r"(?<![A-Za-z])(?:verdict|answer|result|score|rating|grade)[\s*_]*[:=]"
_LABEL = re.compile(
    # A label's value runs to the end of its line or to the next label on it, so an
    # echoed instruction ("... 'Verdict: PASS' or 'Verdict: FAIL'") ends on its last.
    rf"(?<![A-Za-z])(verdict|answer|result|score|rating|grade)[\s*_]*[:=]\s*(.+?)(?={_LABEL_WORD}|$)",
    re.IGNORECASE | re.MULTILINE,
)
_FENCE = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.DOTALL)
_OBJECT = re.compile(r"\{[^{}]*\}")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?!\w|\.\d)")
_OUT_OF = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:/|out of)\s*\d+(?:\.\d+)?")
MAX_ANSWER_CHARS = 20_000


def read_verdict(answer: str, scale: Scale, low: float = 0.0, high: float = 1.0) -> Outcome:
    """The score ``answer`` gives on ``scale`` (numbers within ``[low, high]``)."""
    text = answer.strip()[:MAX_ANSWER_CHARS]
    if not text:
        return Failed("the judge's answer was empty")
    for value in (_from_json(text), _from_label(text)):
        if value is not None:
            return _on_scale(value, scale, low, high, answer)
    fallback = _first_word(text) if scale == "boolean" else _only_number(text)
    if fallback is not None:
        return _on_scale(fallback, scale, low, high, answer)
    return Failed(f"could not read a {scale} verdict in the judge's answer: {_quote(answer)}")


def _from_json(text: str) -> object | None:
    candidates = [text]
    candidates += [m.group(1) for m in _FENCE.finditer(text)]
    candidates += [m.group(0) for m in _OBJECT.finditer(text)]
    for candidate in candidates:
        try:
            parsed = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            lowered = {str(k).lower(): v for k, v in parsed.items()}
            for name in _FIELDS:
                if name in lowered:
                    value: object = lowered[name]
                    return value
    return None


def _from_label(text: str) -> str | None:
    labelled = _LABEL.findall(text)
    if not labelled:
        return None
    value: str = labelled[-1][1]
    return value.strip().strip("*_`\"'").strip()


def _first_word(text: str) -> str | None:
    match = re.match(r"[\W_]*([A-Za-z]+)\b", text)
    if match is None:
        return None
    word = match.group(1).lower()
    return word if word in TRUE_WORDS | FALSE_WORDS else None


def _only_number(text: str) -> str | None:
    out_of = _OUT_OF.match(text)
    if out_of:
        return out_of.group(1)
    numbers = set(_NUMBER.findall(text))
    return numbers.pop() if len(numbers) == 1 else None


def _on_scale(value: Any, scale: Scale, low: float, high: float, answer: str) -> Outcome:
    if scale == "boolean":
        flag = _boolean(value)
        if flag is None:
            return Failed(f"the judge's verdict is not a yes or a no: {_quote(answer)}")
        return Scored(flag)
    number = _number(value)
    if number is None:
        return Failed(f"the judge's verdict is not a number: {_quote(answer)}")
    if not low <= number <= high:
        return Failed(f"the judge's score {number:g} is outside {low:g} to {high:g}")
    return Scored(number)


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = re.match(r"[\W_]*([A-Za-z]+)", value)
        if word is not None:
            lowered = word.group(1).lower()
            if lowered in TRUE_WORDS:
                return True
            if lowered in FALSE_WORDS:
                return False
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        out_of = _OUT_OF.match(value)
        found = out_of.group(1) if out_of else value.strip().rstrip(".")
        try:
            number = float(found)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _quote(answer: str) -> str:
    short = " ".join(answer.split())
    return repr(short if len(short) <= 120 else short[:117] + "...")
