"""Prompt documents are validated with errors that name the field."""

from __future__ import annotations

import pytest

from relayscope.prompts.spec import SpecError, parse_prompt, parse_version

MESSAGES = [{"role": "user", "content": "{{q}}"}]


def test_a_full_document_parses():
    spec = parse_prompt(
        {
            "id": "support-v2",
            "messages": MESSAGES,
            "system": "be kind",
            "model": "gpt-4o-mini",
            "parameters": {"temperature": 0.2, "max_tokens": 50},
            "note": "first",
            "labels": ["production"],
        }
    )
    assert spec.id == "support-v2"
    assert spec.labels == ("production",)
    assert spec.version.template.variables == ("q",)
    assert spec.version.parameters == {"temperature": 0.2, "max_tokens": 50}


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"messages": MESSAGES}, "id"),
        ({"id": "-bad", "messages": MESSAGES}, "id"),
        ({"id": "has space", "messages": MESSAGES}, "id"),
        ({"id": "p"}, "messages"),
        ({"id": "p", "messages": "hi"}, "messages"),
        ({"id": "p", "messages": []}, "messages"),
        ({"id": "p", "messages": [{"content": "x"}]}, "messages[0].role"),
        ({"id": "p", "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"id": "p", "messages": [{"role": "user", "content": [{}]}]}, "messages[0].content[0]"),
        (
            {"id": "p", "messages": [{"role": "user", "content": [{"type": "text"}]}]},
            "messages[0].content[0].text",
        ),
        ({"id": "p", "messages": MESSAGES, "system": 5}, "system"),
        ({"id": "p", "messages": MESSAGES, "model": ""}, "model"),
        ({"id": "p", "messages": MESSAGES, "parameters": []}, "parameters"),
        ({"id": "p", "messages": MESSAGES, "parameters": {"stream": True}}, "parameters.stream"),
        ({"id": "p", "messages": MESSAGES, "labels": ["1"]}, "labels[0]"),
        ({"id": "p", "messages": MESSAGES, "labels": "prod"}, "labels"),
        ({"id": "p", "messages": MESSAGES, "colour": "red"}, "colour"),
    ],
)
def test_invalid_documents_name_the_field(doc, field):
    with pytest.raises(SpecError) as caught:
        parse_prompt(doc)
    assert caught.value.field == field


def test_a_system_alone_is_a_template():
    spec = parse_version({"messages": [], "system": [{"type": "text", "text": "{{a}}"}]})
    assert spec.template.variables == ("a",)
