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


def test_responses_api_items_by_kind():
    request = {
        "instructions": "Be terse.",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
    }
    response = {
        "object": "response",
        "output": [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Thinking."}]},
            {"type": "function_call", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Sunny."}],
            },
        ],
    }
    got = [(m.role, m.kind, m.text, m.source) for m in messages(request, response)]
    assert got == [
        ("system", "text", "Be terse.", "request"),
        ("user", "text", "weather?", "request"),
        ("tool", "tool_result", "sunny", "request"),
        ("assistant", "thinking", "Thinking.", "response"),
        ("assistant", "tool_call", 'get_weather {"city":"Oslo"}', "response"),
        ("assistant", "text", "Sunny.", "response"),
    ]


def test_anthropic_thinking_is_its_own_collapsed_message():
    response = {
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Let me see.", "signature": "sig"},
            {"type": "text", "text": "Done."},
        ],
    }
    got = [(m.kind, m.text) for m in messages({"messages": []}, response)]
    assert got == [("thinking", "Let me see."), ("text", "Done.")]


def test_gemini_parts_by_kind():
    request = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    response = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"text": "pondering", "thought": True},
                        {"functionCall": {"name": "f", "args": {"a": 1}}},
                        {"text": "hello"},
                    ],
                }
            }
        ]
    }
    got = [(m.role, m.kind, m.text) for m in messages(request, response)]
    assert got == [
        ("user", "text", "hi"),
        ("assistant", "thinking", "pondering"),
        ("assistant", "tool_call", 'f {"a":1}'),
        ("assistant", "text", "hello"),
    ]


def test_images_are_thumbnails_or_links_and_audio_is_metadata():
    inline = {"created": 1, "data": [{"b64_json": "iVBORw0KGgo="}]}
    [image] = messages({"prompt": "a fox"}, inline)[1:]
    assert image.kind == "image" and image.image == "data:image/png;base64,iVBORw0KGgo="
    hosted = {
        "created": 1,
        "data": [{"url": "https://images.example/1.png"}, {"url": "javascript:x"}],
    }
    shown = messages({"prompt": "a fox"}, hosted)[1:]
    assert [(m.link, m.image) for m in shown] == [("https://images.example/1.png", None)]

    upload = (
        '--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        "[RelayScope: 4096 bytes of audio/wav not logged]\r\n--b--"
    )
    speech = "[RelayScope: 27648 bytes of audio/mpeg not logged]"
    got = [(m.role, m.kind, m.text) for m in messages(upload, speech)]
    assert got == [
        ("user", "audio", "[RelayScope: 4096 bytes of audio/wav not logged]"),
        ("assistant", "audio", speech),
    ]
