"""Reading a judge's answer: what is understood, and what fails instead of a guess."""

from __future__ import annotations

import pytest

from relayscope.evaluators.model import Failed, Scored
from relayscope.evaluators.verdict import read_verdict


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("PASS", True),
        ("FAIL", False),
        ("yes", True),
        ("No.", False),
        ("Yes, the answer is accurate and complete.", True),
        ("No - it invents a date.", False),
        ("**Verdict:** pass", True),
        ("The answer mentions the right city.\nVerdict: FAIL", False),
        ("Reasoning: the user asked for yes or no.\nFinal verdict = correct", True),
        ('{"verdict": "fail", "reason": "wrong"}', False),
        ('{"pass": true}', True),
        ('Here is my judgment:\n```json\n{"result": "pass"}\n```', True),
        ('Some thoughts. {"verdict": false}', False),
        ("Answer: incorrect", False),
        ("  true  ", True),
    ],
)
def test_boolean_answers(answer, expected):
    assert read_verdict(answer, "boolean") == Scored(expected)


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "   ",
        "It depends on what the user meant.",
        "The answer is not correct.",  # first word is no verdict; no label: not guessed
        "Verdict: maybe",
        '{"verdict": "unclear"}',
        '{"reason": "no verdict field"}',
        "I cannot judge this.",
        "N/A",  # not "n", a no
    ],
)
def test_unreadable_boolean_answers_fail(answer):
    outcome = read_verdict(answer, "boolean")
    assert isinstance(outcome, Failed)
    assert outcome.reason


@pytest.mark.parametrize(
    ("answer", "low", "high", "expected"),
    [
        ("7", 1, 10, 7.0),
        ("Score: 8/10", 1, 10, 8.0),
        ("8/10", 1, 10, 8.0),
        ("0.75", 0, 1, 0.75),
        ('{"score": 3}', 1, 5, 3.0),
        ("The reply is decent.\nRating: 4", 1, 5, 4.0),
        ("I would give it a 9.", 1, 10, 9.0),
    ],
)
def test_number_answers(answer, low, high, expected):
    assert read_verdict(answer, "number", low, high) == Scored(expected)


@pytest.mark.parametrize(
    ("answer", "low", "high"),
    [
        ("11", 1, 10),  # out of range
        ("-1", 0, 1),
        ("between 3 and 4", 1, 5),  # two numbers, no label
        ("good", 1, 5),
        ('{"score": "high"}', 1, 5),
        ('{"score": true}', 0, 1),
        ("Score: NaN", 0, 1),
        ("Score: inf", 0, 1e308),
    ],
)
def test_unreadable_number_answers_fail(answer, low, high):
    assert isinstance(read_verdict(answer, "number", low, high), Failed)


def test_an_echoed_instruction_ends_on_its_last_label():
    answer = "Reply with 'Verdict: PASS' or 'Verdict: FAIL'."
    assert read_verdict(answer, "boolean") == Scored(False)


def test_the_last_label_wins():
    answer = "Verdict: pass would be wrong here.\nVerdict: fail"
    assert read_verdict(answer, "boolean") == Scored(False)


def test_a_huge_answer_is_read_within_bounds():
    outcome = read_verdict("x" * 10_000_000, "boolean")
    assert isinstance(outcome, Failed)
    assert len(outcome.reason) < 300
