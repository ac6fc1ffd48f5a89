"""Chat rendering of logged OpenAI and Anthropic bodies."""

from relayscope.dashboard.chat import messages


def test_openai_conversation_with_tool_calls():
    request = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        ]
    }
    response = {
        "choices": [
            {
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}
                    ],
                }
            }
        ]
    }
    got = [(m.role, m.text, m.source) for m in messages(request, response)]
    assert got == [
        ("system", "Be brief.", "request"),
        ("user", "Weather?", "request"),
        ("assistant", '[tool call weather] {"city": "Oslo"}', "response"),
    ]


def test_anthropic_conversation():
    request = {"system": "Be kind.", "messages": [{"role": "user", "content": "Hi"}]}
    response = {
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Hello!"},
            {"type": "tool_use", "name": "lookup", "input": {"q": "x"}},
        ],
    }
    got = [(m.role, m.text) for m in messages(request, response)]
    assert got == [
        ("system", "Be kind."),
        ("user", "Hi"),
        ("assistant", 'Hello!\n[tool call lookup] {"q":"x"}'),
    ]


def test_bodies_that_are_not_chat():
    assert messages("not json", None) == []
    assert messages({"input": "embed me"}, {"data": []}) == []
