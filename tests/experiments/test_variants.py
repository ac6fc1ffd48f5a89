"""Variants: checked field by field, with errors that name the field."""

from __future__ import annotations

import pytest

from relayscope.errors import BadRequest
from relayscope.experiments.variants import MAX_VARIANTS, from_stored, parse_variants


def test_a_variant_round_trips_through_its_stored_form():
    variants = parse_variants(
        [
            {
                "name": "mini",
                "model": "gpt-4o-mini",
                "parameters": {"temperature": 0.2, "max_tokens": 50},
            },
            {
                "name": "prompted",
                "prompt_id": "support",
                "prompt_version": 2,
                "variables": {"tone": "warm"},
            },
            {"name": "claude", "provider": "anthropic", "model": "claude-3-5-haiku-latest"},
        ]
    )
    assert from_stored([v.to_json() for v in variants]) == variants


@pytest.mark.parametrize(
    ("variants", "param"),
    [
        ([], "variants"),
        ([{"name": f"v{n}"} for n in range(MAX_VARIANTS + 1)], "variants"),
        ([{"name": ""}], "variants[0].name"),
        ([{"name": "a", "colour": "red"}], "variants[0].colour"),
        ([{"name": "a", "provider": "gemini"}], "variants[0].provider"),
        ([{"name": "a", "prompt_id": "p"}], "variants[0].prompt_version"),
        ([{"name": "a", "prompt_version": 1}], "variants[0].prompt_version"),
        ([{"name": "a", "variables": {"x": "y"}}], "variants[0].variables"),
        (
            [{"name": "a", "parameters": {"temperature": True}}],
            "variants[0].parameters.temperature",
        ),
        ([{"name": "a", "parameters": {"max_tokens": 1.5}}], "variants[0].parameters.max_tokens"),
        ([{"name": "a", "parameters": {"logit_bias": {}}}], "variants[0].parameters.logit_bias"),
        ([{"name": "a"}, {"name": "b"}, {"name": "a"}], "variants"),
    ],
)
def test_a_bad_variant_names_its_field(variants, param):
    with pytest.raises(BadRequest) as caught:
        parse_variants(variants)
    assert caught.value.param == param
