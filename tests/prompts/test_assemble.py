"""How a filled template and the client's body become the upstream body."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relayscope.errors import BadRequest
from relayscope.prompts.assemble import apply_inline, assemble, inline_template
from relayscope.prompts.model import PromptVersion
from relayscope.prompts.template import Template


def version(template: Template, model=None, parameters=None) -> PromptVersion:
    return PromptVersion("p", 1, template, model, parameters or {}, None, None, datetime.now(UTC))


def test_openai_body_gets_defaults_overridden_by_the_request_and_messages_appended():
    template = Template([{"role": "user", "content": "Q"}], system="S")
    v = version(template, "model-a", {"temperature": 0.1, "max_tokens": 9})
    body = {"model": "model-b", "temperature": 0.7, "messages": [{"role": "user", "content": "Z"}]}
    out = assemble(body, v, template, "openai")
    assert out == {
        "model": "model-b",
        "temperature": 0.7,
        "max_tokens": 9,
        "messages": [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "Q"},
            {"role": "user", "content": "Z"},
        ],
    }


def test_anthropic_body_lifts_system_messages_and_keeps_the_clients_system_after():
    template = Template(
        [{"role": "system", "content": "rules"}, {"role": "user", "content": "Q"}],
        system="S",
    )
    body = {"max_tokens": 5, "system": "extra", "messages": []}
    out = assemble(body, version(template, "claude"), template, "anthropic")
    assert out["model"] == "claude"
    assert out["system"] == [
        {"type": "text", "text": "S"},
        {"type": "text", "text": "rules"},
        {"type": "text", "text": "extra"},
    ]
    assert out["messages"] == [{"role": "user", "content": "Q"}]


def test_anthropic_single_string_system_stays_a_string():
    template = Template([{"role": "user", "content": "Q"}], system="S")
    out = assemble({"messages": []}, version(template), template, "anthropic")
    assert out["system"] == "S"


def test_inline_template_ends_at_the_last_message_with_a_placeholder():
    body = {
        "model": "m",
        "system": "plain",
        "messages": [
            {"role": "user", "content": "{{q}}"},
            {"role": "assistant", "content": "a"},
            {"role": "user", "content": "more"},
        ],
    }
    found = inline_template(body)
    assert found is not None
    template, tail = found
    assert template.messages == body["messages"][:1]
    assert template.system == "plain"
    assert tail == body["messages"][1:]
    out = apply_inline(body, template.fill({"q": "x"}), tail)
    assert [m["content"] for m in out["messages"]] == ["x", "a", "more"]


def test_no_placeholder_means_no_inline_template():
    assert inline_template({"messages": [{"role": "user", "content": "{x}"}]}) is None


def test_a_malformed_inline_template_names_the_body_field():
    body = {"messages": [{"role": "user", "content": "{{q}}"}, {"content": "{{r}}"}]}
    with pytest.raises(BadRequest) as caught:
        inline_template(body)
    assert caught.value.param == "messages[1].role"
