"""How well the LLM-as-judge evaluator reaches verdicts, on labelled sets in bench/data.

    python -m bench.judge                       # the parsing path, offline (a second)
    python -m bench.judge --gateway URL --key K --provider-key P --model gpt-4o-mini
                                                # a real judge model through a gateway
    python -m bench.judge --gateway URL --key K --provider-key P --model M \
        --target-url https://api.example.com/openai
                                                # any OpenAI-compatible endpoint

Every flag of the judgment path may come from the environment instead (a flag wins):
``RELAYSCOPE_JUDGE_GATEWAY``, ``RELAYSCOPE_JUDGE_KEY``, ``RELAYSCOPE_JUDGE_PROVIDER_KEY``,
``RELAYSCOPE_JUDGE_MODEL``, ``RELAYSCOPE_JUDGE_TARGET_URL``.

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
  is the model's: run it with the model you configure. The call goes to the
  gateway's OpenAI route (``/openai/v1/chat/completions``: OpenAI, or whatever
  ``RELAYSCOPE_OPENAI_BASE_URL`` names), or with ``--target-url`` to any
  OpenAI-compatible API through ``/gateway`` and ``Helicone-Target-Url`` (its host
  must be one the gateway allows). A call that fails is counted, not judged.

Writes bench/results/judge.{md,json}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Mapping
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


@dataclass(frozen=True)
class Judge:
    """Where the judgment path sends its calls."""

    gateway: str
    key: str
    """A gateway key of the org the calls are logged in (``Helicone-Auth``)."""
    provider_key: str
    model: str
    target_url: str | None = None
    """An OpenAI-compatible API's base URL (``Helicone-Target-Url``); None: the
    gateway's own OpenAI route."""

    def path(self) -> str:
        return "/gateway/v1/chat/completions" if self.target_url else "/openai/v1/chat/completions"

    def headers(self) -> dict[str, str]:
        headers = {
            "Helicone-Auth": f"Bearer {self.key}",
            "Authorization": f"Bearer {self.provider_key}",
            "Helicone-Property-Relayscope-Evaluator": "bench-judge",
        }
        if self.target_url:
            headers["Helicone-Target-Url"] = self.target_url
        return headers

    def shown(self) -> dict[str, str | None]:
        """What the results name (never a key)."""
        return {"name": self.model, "gateway": self.gateway, "target_url": self.target_url}


async def judged(judge: Judge, transport: httpx.AsyncBaseTransport | None = None) -> dict[str, Any]:
    check = JudgeCheck(model=judge.model, prompt=PROMPT)
    tally = Tally()
    failed: list[str] = []
    async with httpx.AsyncClient(
        base_url=judge.gateway, timeout=120, transport=transport
    ) as client:
        for line in EVAL_SET.read_text().splitlines():
            item = json.loads(line)
            subject = Subject("bench", item["input"], item["output"], 0.0, None)
            response = await client.post(
                judge.path(), json=check.body(subject), headers=judge.headers()
            )
            if response.status_code != 200:
                failed.append(f"{response.status_code}: {response.text[:200]}")
                continue
            got = _read(response.json()["choices"][0]["message"]["content"])
            tally.add(item["expected"], got)
    return {
        **tally.figures(),
        "calls_failed": len(failed),
        "first_failure": next(iter(failed), None),
    }


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
        model = result["model"]
        via = model["target_url"] or "the gateway's OpenAI route"
        lines += [
            f"## Judgment by {model['name']}",
            "",
            f"Through {model['gateway']}, to {via}.",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        lines += [f"| {k} | {v} |" for k, v in result["model"]["figures"].items()]
    else:
        lines += [
            "## Judgment",
            "",
            "Not measured: it needs a real model (`--gateway` or `RELAYSCOPE_JUDGE_GATEWAY`, "
            "see bench/README.md); the fake provider echoes prompts. The figures above "
            "are about reading answers, not about judging.",
        ]
    return "\n".join(lines) + "\n"


ENV = "RELAYSCOPE_JUDGE_"


def judge_from(argv: list[str] | None, env: Mapping[str, str]) -> Judge | None:
    """The judgment path's target from flags, else ``RELAYSCOPE_JUDGE_*``; None without
    a gateway (the offline measurement only). Exits with a usage error when a gateway
    is given without a key."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])

    def flag(name: str, help: str, default: str | None = None) -> None:
        variable = ENV + name.upper().replace("-", "_")
        parser.add_argument(
            f"--{name}", default=env.get(variable, default), help=f"{help} (${variable})"
        )

    flag("gateway", "A gateway URL with a real model behind it")
    flag("key", "A gateway key (Helicone-Auth) for --gateway")
    flag("provider-key", "The model API's key", "")
    flag("model", "The judge model", "gpt-4o-mini")
    flag("target-url", "An OpenAI-compatible API's base URL, reached through the gateway")
    args = parser.parse_args(argv)
    if not args.gateway:
        return None
    if not args.key:
        parser.error("--gateway needs --key (or RELAYSCOPE_JUDGE_KEY)")
    return Judge(args.gateway, args.key, args.provider_key, args.model, args.target_url or None)


def main() -> None:
    judge = judge_from(None, os.environ)
    result: dict[str, Any] = {"parsing": {}, "misses": {}}
    for name, path in (("tuned set", ANSWERS), ("held-out set", HELD_OUT)):
        figures, misses = parsing(path)
        result["parsing"][name] = figures
        result["misses"][name] = misses
    if judge is not None:
        figures = asyncio.run(judged(judge))
        result["model"] = {**judge.shown(), "figures": figures}
    text = markdown(result)
    output.write(RESULTS, "judge", result, text)
    print(text)


if __name__ == "__main__":
    main()
