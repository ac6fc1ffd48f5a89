"""The judge bench: the parsing path on its labelled sets, and the judgment path run
through a real gateway process, where the fake provider shows why it measures nothing."""

from __future__ import annotations

import asyncio

from bench import judge


def test_no_labelled_answer_is_read_the_wrong_way() -> None:
    for path in (judge.ANSWERS, judge.HELD_OUT):
        figures, misses = judge.parsing(path)
        assert figures["read_the_wrong_way"] == 0, misses
        assert figures["unreadable_given_a_verdict"] == 0, misses
        assert figures["pass_precision"] == 1.0 and figures["fail_precision"] == 1.0


def test_the_tuned_set_is_read_in_full() -> None:
    figures, misses = judge.parsing(judge.ANSWERS)
    assert figures["readable_left_unread"] == 0, misses


def test_the_judgment_path_through_a_gateway_against_the_fake(gateway_process) -> None:  # type: ignore[no-untyped-def]
    """The fake echoes the prompt, whose last words are "... or 'Verdict: FAIL'": every
    item reads as FAIL. The path works end to end; the figure is no judgment."""
    org = gateway_process.new_org()
    figures = asyncio.run(judge.judged(gateway_process.url, org.key, "sk-provider", "gpt-4o-mini"))
    assert figures["items"] == 40
    assert figures["pass_recall"] == 0.0 and figures["fail_recall"] == 1.0
