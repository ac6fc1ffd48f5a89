from __future__ import annotations

import pytest
from genai_prices import Usage, calc_price

from relayscope.logs.cost import cost_usd


def test_known_model_is_priced_from_the_dataset():
    expected = calc_price(
        Usage(input_tokens=1000, output_tokens=500), model_ref="gpt-4o-mini", provider_id="openai"
    ).total_price
    got = cost_usd("openai", "gpt-4o-mini", input_tokens=1000, output_tokens=500)
    assert got == pytest.approx(float(expected)) and got > 0


def test_cached_tokens_are_cheaper():
    full = cost_usd("openai", "gpt-4o-mini", input_tokens=1000, output_tokens=0)
    cached = cost_usd(
        "openai", "gpt-4o-mini", input_tokens=1000, output_tokens=0, cache_read_tokens=1000
    )
    assert 0 < cached < full


@pytest.mark.parametrize(
    ("provider", "model", "tokens"),
    [("openai", "no-such-model-9000", 10), ("openai", None, 10), ("openai", "gpt-4o", None)],
)
def test_unknown_is_none_not_zero(provider, model, tokens):
    assert cost_usd(provider, model, input_tokens=tokens, output_tokens=tokens) is None


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-4o-mini"),
        ("anthropic", "claude-3-5-sonnet-20241022"),
        ("groq", "llama-3.1-8b-instant"),
        ("google", "gemini-1.5-pro"),  # tiered by prompt length: the slow path
        (None, "gpt-4o"),
    ],
)
@pytest.mark.parametrize(
    ("inputs", "outputs", "read", "write"),
    [(1000, 500, 0, 0), (250_000, 4000, 100_000, 20_000), (0, 10, 0, 0), (7, 0, 3, 0)],
)
def test_fast_path_prices_exactly_like_calc_price(provider, model, inputs, outputs, read, write):
    usage = Usage(
        input_tokens=inputs,
        output_tokens=outputs,
        cache_read_tokens=read or None,
        cache_write_tokens=write or None,
    )
    expected = float(calc_price(usage, model_ref=model, provider_id=provider).total_price)
    got = cost_usd(
        provider,
        model,
        input_tokens=inputs,
        output_tokens=outputs,
        cache_read_tokens=read,
        cache_write_tokens=write,
    )
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
