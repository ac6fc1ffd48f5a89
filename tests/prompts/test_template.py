"""Placeholders: where they are found, how they are filled, and what can never happen."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayscope.prompts.template import MissingVariables, Template, render_value


def test_variables_are_found_in_every_text_part_in_order_of_first_use():
    template = Template(
        [
            {"role": "system", "content": "You help {{company}} customers."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "I am {{ name }} from {{company}}"},
                    {"type": "image_url", "image_url": {"url": "https://x/{{not_a_text}}.png"}},
                ],
            },
            {"role": "assistant", "content": None, "tool_calls": [{"id": "{{tool}}"}]},
        ],
        system=[{"type": "text", "text": "Answer in {{language}}"}],
    )
    assert template.variables == ("language", "company", "name")


def test_fill_replaces_placeholders_in_strings_parts_and_system_blocks():
    template = Template(
        [{"role": "user", "content": [{"type": "text", "text": "Hi {{name}}!"}]}],
        system=[{"type": "text", "text": "Speak {{lang}}", "cache_control": {"type": "x"}}],
    )
    filled = template.fill({"name": "Ada", "lang": "French", "unused": 1})
    assert filled.messages == [{"role": "user", "content": [{"type": "text", "text": "Hi Ada!"}]}]
    assert filled.system == [
        {"type": "text", "text": "Speak French", "cache_control": {"type": "x"}}
    ]
    assert template.messages[0]["content"][0]["text"] == "Hi {{name}}!", "template unchanged"


def test_a_value_holding_a_placeholder_is_never_expanded():
    template = Template([{"role": "user", "content": "{{a}} and {{b}}"}])
    filled = template.fill({"a": "{{b}}", "b": "{{a}}"})
    assert filled.messages[0]["content"] == "{{b}} and {{a}}"


def test_non_string_values_are_inserted_as_their_json_text():
    template = Template([{"role": "user", "content": "{{n}} {{f}} {{t}} {{z}} {{o}} {{l}}"}])
    filled = template.fill({"n": 3, "f": 1.5, "t": True, "z": None, "o": {"k": "v"}, "l": [1]})
    assert filled.messages[0]["content"] == '3 1.5 true null {"k":"v"} [1]'


def test_missing_variables_are_all_named():
    template = Template([{"role": "user", "content": "{{a}} {{b}} {{c}}"}])
    with pytest.raises(MissingVariables) as caught:
        template.fill({"b": "x"})
    assert caught.value.names == ["a", "c"]


def test_braces_that_are_not_placeholders_stay_as_they_are():
    text = "json {{}} {{ two words }} {x} {{1abc}} }}{{"
    template = Template([{"role": "user", "content": text}])
    assert template.variables == ()
    assert template.fill({}).messages[0]["content"] == text


def test_digest_follows_content_not_key_order():
    a = Template([{"role": "user", "content": "{{x}}"}])
    b = Template([{"content": "{{x}}", "role": "user"}])
    c = Template([{"role": "user", "content": "{{y}}"}])
    assert a.digest == b.digest != c.digest


@given(st.text())
def test_any_value_round_trips_through_the_json_body(value):
    template = Template([{"role": "user", "content": 'say "{{v}}"\n'}])
    body = orjson.dumps({"messages": template.fill({"v": value}).messages})
    assert orjson.loads(body)["messages"][0]["content"] == f'say "{value}"\n'


def test_render_value_keeps_strings_verbatim():
    assert render_value('quote " newline \n backslash \\') == 'quote " newline \n backslash \\'
