"""The verification step on its own: what it refuses and what it lets through.

These examples are not from the labelled set (bench/data): that one measures the
whole matcher; these pin each rule.
"""

from __future__ import annotations

import pytest

from relayscope.cache.verify import refusal


@pytest.mark.parametrize(
    ("new", "cached", "reason"),
    [
        ("¿Dónde está la biblioteca?", "Where is the library?", "language"),
        ("Book 2 seats for the 9:15 show.", "Book 2 seats for the 9:45 show.", "numbers"),
        ("Ship order A-1001 today.", "Ship order A-1002 today.", "numbers"),
        ('Rename the file to "draft".', 'Rename the file to "final".', "quoted"),
        ("Does this plan include dental?", "Doesn't this plan include dental?", "negation"),
        ("Is the bridge passable?", "Is the bridge unpassable?", "negation"),
        ("Write it in Kotlin.", "Write it in Scala.", "names"),
        ("Plan a picnic for Saturday.", "Plan a picnic for Sunday.", "names"),
        ("Tips for toddlers learning to swim.", "Tips for adults learning to swim.", "names"),
        ("Who came third in the race?", "Who came fifth in the race?", "names"),
        ("How do I import contacts?", "How do I export contacts?", "opposite"),
        ("What is the cheapest flight?", "What is the most expensive flight?", "opposite"),
        ("Send 20 coins from Alice to Bob.", "Send 20 coins from Bob to Alice.", "order"),
        ("Is tea healthier than coffee?", "Is coffee healthier than tea?", "order"),
        ("Draw a map of the park.", "Draw a detailed map of the park.", "added or dropped"),
        ("Can I freeze cooked rice?", "Can I freeze cooked pasta?", "word swapped"),
        ("How do I merge two branches?", "How do I rebase two branches?", "word swapped"),
        ("How do I cancel my order?", "How do I track my order?", "word swapped"),
        ("How do I upgrade my plan?", "How do I downgrade my plan?", "opposite"),
    ],
)
def test_near_misses_are_refused_with_the_reason(new, cached, reason):
    assert refusal(new, cached) == reason


@pytest.mark.parametrize(
    ("new", "cached"),
    [
        ("What's the best way to learn SQL?", "How do I learn SQL?"),
        ("Please explain how tides work.", "Explain how tides work."),
        ("Compose a sonnet about rain.", "Write a sonnet about rain."),
        ("Which city is the capital of Kenya?", "What is the capital of Kenya?"),
        ("What are some tips for the 10k race?", "Give me tips for the 10k race."),
    ],
)
def test_paraphrases_pass(new, cached):
    assert refusal(new, cached) is None


def test_long_prompts_are_read_whole():
    """The embedding cuts prompts at 128 word pieces; the check never does."""
    head = "Here is a long description of my garden and its soil. " * 40
    assert (
        refusal(
            head + "Should I water it 2 times a week?", head + "Should I water it 3 times a week?"
        )
        == "numbers"
    )
