"""The cost estimate: tokens counted from the rows, the assumed output stated, each
model priced from the gateway's price table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relayscope.datasets.repository import Row
from relayscope.experiments import estimate
from relayscope.experiments.variants import Variant
from relayscope.logs.cost import cost_usd


def row(text: str, model: str | None = "gpt-4o-mini") -> Row:
    return Row(
        "r", "d", 0, [{"role": "user", "content": text}], None, None, None, model, datetime.now(UTC)
    )


@pytest.fixture
def approximate(monkeypatch):
    """Counts as a machine without tiktoken's data does (this one has no network)."""
    monkeypatch.setattr(estimate, "_tiktoken", lambda model: None)


def test_each_variant_is_priced_from_the_price_table(approximate):
    rows = [row("x" * 40), row("y" * 80)]
    variants = [Variant("mini", model="gpt-4o-mini"), Variant("big", model="gpt-4o")]
    found = estimate.estimate(rows, variants, {}, output_tokens=100)
    # 40 and 80 characters are 10 and 20 tokens, plus 3 per message and 3 to prime.
    tokens = [10 + 6, 20 + 6]
    mini, big = found["variants"]
    assert mini["input_tokens"] == sum(tokens) and mini["assumed_output_tokens"] == 200
    expected = sum(
        cost_usd("openai", "gpt-4o-mini", input_tokens=t, output_tokens=100) for t in tokens
    )
    assert mini["cost_usd"] == pytest.approx(expected)
    assert big["cost_usd"] > mini["cost_usd"]
    assert found["total_cost_usd"] == pytest.approx(mini["cost_usd"] + big["cost_usd"])
    assert found["tokenizer"] == estimate.APPROXIMATE
    assert found["assumed_output_tokens_per_request"] == 100 and found["requests"] == 4


def test_a_variant_s_max_tokens_caps_the_assumed_output(approximate):
    found = estimate.estimate(
        [row("hi")], [Variant("short", model="gpt-4o-mini", parameters={"max_tokens": 10})], {}
    )
    assert found["variants"][0]["assumed_output_tokens"] == 10


def test_a_prompt_version_s_template_and_model_count(approximate):
    prompt = estimate.PromptText("gpt-4o", [{"role": "system", "content": "s" * 400}])
    variant = Variant("p", prompt_id="support", prompt_version=1)
    found = estimate.estimate([row("hi", model=None)], [variant], {"p": prompt})
    assert found["variants"][0]["models"] == ["gpt-4o"]
    assert found["variants"][0]["input_tokens"] == (3 + 100) + (3 + 1) + 3


def test_an_unknown_model_has_no_price_and_says_so(approximate):
    found = estimate.estimate([row("hi")], [Variant("x", model="no-such-model-anywhere")], {})
    assert found["variants"][0]["cost_usd"] is None
    assert found["unpriced_models"] == ["no-such-model-anywhere"] and not found["complete"]


def test_tiktoken_counts_when_its_encoder_is_available(monkeypatch):
    monkeypatch.setattr(
        estimate, "_tiktoken", lambda model: (lambda text: len(text.split()), "tiktoken test")
    )
    found = estimate.estimate([row("one two three")], [Variant("v", model="gpt-4o-mini")], {})
    assert found["tokenizer"] == "tiktoken test"
    assert found["variants"][0]["input_tokens"] == 3 + 3 + 3
