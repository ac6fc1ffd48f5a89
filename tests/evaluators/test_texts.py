"""What evaluators read of a logged request: the prompt and the answer as text."""

from __future__ import annotations

import orjson

from relayscope.evaluators.texts import input_text, output_text


def test_openai_chat():
    request = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Capital of France?"}]},
        ],
    }
    reply = {"choices": [{"message": {"role": "assistant", "content": "Paris."}}]}
    assert input_text(orjson.dumps(request).decode()) == "Be brief.\nCapital of France?"
    assert output_text(orjson.dumps(reply).decode()) == "Paris."


def test_anthropic_messages():
    request = {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}
    reply = {"content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]}
    assert input_text(orjson.dumps(request).decode()) == "Be brief.\nHi"
    assert output_text(orjson.dumps(reply).decode()) == "Hello\nthere"


def test_responses_api():
    request = {"instructions": "Be brief.", "input": "Hi"}
    reply = {"output": [{"type": "message", "content": [{"type": "output_text", "text": "Yo"}]}]}
    assert input_text(orjson.dumps(request).decode()) == "Be brief.\nHi"
    assert output_text(orjson.dumps(reply).decode()) == "Yo"


def test_streams():
    openai = (
        "".join(
            f"data: {orjson.dumps({'choices': [{'delta': {'content': w}}]}).decode()}\n\n"
            for w in ("Hel", "lo")
        )
        + "data: [DONE]\n\n"
    )
    anthropic = (
        'event: content_block_delta\ndata: {"type":"content_block_delta","delta":'
        '{"type":"text_delta","text":"Hi"}}\n\n'
    )
    responses = (
        "event: response.output_text.delta\n"
        'data: {"type":"response.output_text.delta","delta":"Yo"}\n\n'
    )
    assert output_text(openai) == "Hello"
    assert output_text(anthropic) == "Hi"
    assert output_text(responses) == "Yo"


def test_other_bodies_are_read_as_they_are():
    assert output_text("plain text answer") == "plain text answer"
    assert output_text('{"result": 42}') == '{"result": 42}'
    assert output_text(None) == ""
    assert input_text("not json") == "not json"
    assert input_text(None) == ""
