"""How well the LLM-as-judge evaluator reaches verdicts, on labelled sets in bench/data.

    python -m bench.judge                       # the parsing path, offline (a second)
    python -m bench.judge --gateway URL --key K --model gpt-4o-mini
                                                # a real judge model through a gateway

A judge's verdict has two parts: the model's judgment, and reading its answer
(``evaluators.verdict``). Only the second is code in this repository, and only it can
be measured without a real model; the fake provider echoes prompts, so a "judge"
backed by it measures nothing about judgment. So:

* offline (the default): judge answers as models write them, each labelled with the
  verdict a person reads in it, or none (``judge-answers.jsonl``, written with the
  parser; ``judge-answers-heldout.jsonl``, written after it and measured once before
  any change). Reported: precision and recall of PASS and of FAIL, answers read the
  wrong way (the costly error), readable answers left unread (a failed evaluation,
  counted, never a guess) and unreadable answers given a verdict anyway.
* ``--gateway``: each item of ``judge-eval.jsonl`` (a question, an answer, whether
  the answer is correct and on topic) is judged through that gateway by ``--model``
  with the prompt below, as a judge evaluator would send it, and precision and recall
  of PASS against the labels are reported. This is the figure for judgment, and it
  is the model's: run it with the model you configure.

Writes bench/results/judge.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import output
from relayscope.evaluators.judge import JudgeCheck
from relayscope.evaluators.model import Scored, Subject
from relayscope.evaluators.verdict import read_verdict

HERE = Path(__file__).parent
EVAL_SET = HERE / "data" / "judge-eval.jsonl"
ANSWERS = HERE / "data" / "judge-answers.jsonl"
HELD_OUT = HERE / "data" / "judge-answers-heldout.jsonl"
RESULTS = HERE / "results"
PROMPT = (
    "You grade an assistant's answer.\nQuestion: {{input}}\nAnswer: {{output}}\n"
    "Is the answer correct and on topic? Explain in one sentence, then end with "
    "'Verdict: PASS' or 'Verdict: FAIL'."
)


@dataclass
class Tally:
    """Verdicts read against the labels; the positive class is PASS."""

    items: int = 0
    true_pass: int = 0
    false_pass: int = 0
    true_fail: int = 0
    false_fail: int = 0
    unread_pass: int = 0
    """Labelled PASS, no verdict read (the evaluation fails: no score)."""
    unread_fail: int = 0
    guessed: int = 0
    """No verdict was labelled (unreadable), one was read anyway."""
    unreadable_left: int = 0

    def add(self, expected: bool | None, got: bool | None) -> None:
        self.items += 1
        if expected is None:
            self.guessed += got is not None
            self.unreadable_left += got is None
        elif got is None:
            self.unread_pass += expected
            self.unread_fail += not expected
        elif expected and got:
            self.true_pass += 1
        elif expected:
            self.false_fail += 1
        elif got:
            self.false_pass += 1
        else:
            self.true_fail += 1

    def figures(self) -> dict[str, Any]:
        labelled_pass = self.true_pass + self.false_fail + self.unread_pass
        labelled_fail = self.true_fail + self.false_pass + self.unread_fail
        return {
            "items": self.items,
            "pass_precision": _ratio(self.true_pass, self.true_pass + self.false_pass),
            "pass_recall": _ratio(self.true_pass, labelled_pass),
            "fail_precision": _ratio(self.true_fail, self.true_fail + self.false_fail),
            "fail_recall": _ratio(self.true_fail, labelled_fail),
            "read_the_wrong_way": self.false_pass + self.false_fail,
            "readable_left_unread": self.unread_pass + self.unread_fail,
            "unreadable_given_a_verdict": self.guessed,
            "unreadable_left_unread": self.unreadable_left,
        }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _read(answer: str) -> bool | None:
    outcome = read_verdict(answer, "boolean")
    return bool(outcome.value) if isinstance(outcome, Scored) else None


def parsing(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    tally, misses = Tally(), []
    for line in path.read_text().splitlines():
        item = json.loads(line)
        got = _read(item["answer"])
        tally.add(item["expected"], got)
        if got != item["expected"]:
            misses.append({"answer": item["answer"], "expected": item["expected"], "read": got})
    return tally.figures(), misses


async def judged(gateway: str, key: str, provider_key: str, model: str) -> dict[str, Any]:
    check = JudgeCheck(model=model, prompt=PROMPT)
    tally = Tally()
    async with httpx.AsyncClient(base_url=gateway, timeout=120) as client:
        for line in EVAL_SET.read_text().splitlines():
            item = json.loads(line)
            subject = Subject("bench", item["input"], item["output"], 0.0, None)
            response = await client.post(
                "/openai/v1/chat/completions",
                json=check.body(subject),
                headers={
                    "Helicone-Auth": f"Bearer {key}",
                    "Authorization": f"Bearer {provider_key}",
                    "Helicone-Property-Relayscope-Evaluator": "bench-judge",
                },
            )
            response.raise_for_status()
            got = _read(response.json()["choices"][0]["message"]["content"])
            tally.add(item["expected"], got)
    return tally.figures()


def markdown(result: dict[str, Any]) -> str:
    lines = ["# LLM-as-judge: reading verdicts", ""]
    for name, figures in result["parsing"].items():
        lines += [
            f"## Parsing path, {name} ({figures['items']} answers)",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in figures.items() if k != "items"]
        lines.append("")
    if result.get("model"):
        lines += [
            f"## Judgment by {result['model']['name']}",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in result["model"]["figures"].items()]
    else:
        lines += [
            "## Judgment",
            "",
            "Not measured: it needs a real model (`--gateway`); the fake provider echoes "
            "prompts. The figures above are about reading answers, not about judging.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", help="A gateway URL with a real provider behind it.")
    parser.add_argument("--key", help="A gateway key (Helicone-Auth) for --gateway.")
    parser.add_argument("--provider-key", default="", help="The provider's API key.")
    parser.add_argument("--model", default="gpt-4o-mini")
    args = parser.parse_args()
    result: dict[str, Any] = {"parsing": {}, "misses": {}}
    for name, path in (("tuned set", ANSWERS), ("held-out set", HELD_OUT)):
        figures, misses = parsing(path)
        result["parsing"][name] = figures
        result["misses"][name] = misses
    if args.gateway:
        if not args.key:
            parser.error("--gateway needs --key")
        figures = asyncio.run(judged(args.gateway, args.key, args.provider_key, args.model))
        result["model"] = {"name": args.model, "figures": figures}
    text = markdown(result)
    output.write(RESULTS, "judge", result, text)
    print(text)


if __name__ == "__main__":
    main()
