"""The request an experiment sends for a row and a variant."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from relayscope.datasets.repository import Row
from relayscope.experiments.calls import NoModel, call_for
from relayscope.experiments.variants import Variant

ROW = Row(
    "row-1",
    "d",
    0,
    [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    None,
    None,
    None,
    "gpt-4o-mini",
    datetime.now(UTC),
)


def test_an_openai_variant_sends_the_row_with_its_model_parameters_and_tags():
    call = call_for(
        "exp-1", Variant("v", model="gpt-4o", parameters={"temperature": 0.1}), ROW, None
    )
    assert call.path == "/openai/v1/chat/completions"
    assert call.body == {"model": "gpt-4o", "temperature": 0.1, "messages": ROW.messages}
    assert call.headers == {
        "Helicone-Property-Experiment": "exp-1",
        "Helicone-Property-Experiment-Variant": "v",
        "Helicone-Property-Dataset-Row": "row-1",
    }


def test_without_a_model_the_row_s_own_is_used_and_none_at_all_is_an_error():
    assert call_for("e", Variant("v"), ROW, None).body["model"] == "gpt-4o-mini"
    modelless = dataclasses.replace(ROW, model=None)
    with pytest.raises(NoModel):
        call_for("e", Variant("v"), modelless, None)


def test_an_anthropic_variant_moves_system_messages_and_sets_max_tokens():
    call = call_for(
        "e", Variant("c", model="claude-3-5-haiku-latest", provider="anthropic"), ROW, None
    )
    assert call.path == "/anthropic/v1/messages"
    assert call.body["system"] == "be brief"
    assert call.body["messages"] == [{"role": "user", "content": "hi"}]
    assert call.body["max_tokens"] == 1024


def test_a_prompt_variant_names_its_version_and_drops_the_row_s_system_prompt():
    variant = Variant("p", prompt_id="support", prompt_version=3, variables={"tone": "warm"})
    call = call_for("e", variant, ROW, "gpt-4o")
    assert call.headers["Helicone-Prompt-Id"] == "support"
    assert call.headers["Helicone-Prompt-Version"] == "3"
    assert call.headers["Helicone-Prompt-Variables"] == '{"tone":"warm"}'
    assert call.body["messages"] == [{"role": "user", "content": "hi"}]
    assert call.body["model"] == "gpt-4o"
